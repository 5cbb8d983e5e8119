import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maskLookAlike } from '../../sources/mask.js';
import { checkEncoding, isRejectsHeader, readCsvHeader, REJECTS_COLUMNS } from '../../sources/csv.js';
import { isPostgresLocation, openLedger, type AnyLedger } from '../../state/open-ledger.js';
import { EXIT, SyncError, exitCodeFor } from '../errors.js';
import { formatCount } from '../progress.js';
import { RejectsFile } from '../rejects-file.js';
import { hasPersonalData } from '../redact.js';
import { attachCertificates } from './certificates.js';
import { observeAll } from './observe.js';
import { sendPending, type SendState } from './send.js';
import { sessionOf } from './session.js';
import { stageAll } from './stage.js';
import { exitCodeOf, summarize } from './summary.js';
import { MerchantBook, checkHeaderWithToken } from './merchants.js';
import { TimingRecorder } from './timing-recorder.js';
import type { UploadOptions, UploadResult } from './types.js';
import type { LedgerPort } from '../../state/port.js';
import type { FailedRevived } from '../../state/ledger.js';
import type { Logger } from '../log.js';

export type { UploadOptions, UploadResult, UploadSummary } from './types.js';

/** The whole job for one dataset: check headers, stage every row into the ledger, send what is pending, report. */
export async function runUpload(o: UploadOptions): Promise<UploadResult> {
  const clock = o.clock ?? Date.now;
  const started = clock();
  const { dataset, logger } = o;
  const encoding = o.encoding ?? 'utf8';

  // 1. Every file's encoding and header, before the ledger is touched: a wrong --encoding or a missing column
  // stops the run with nothing sent (not a million rejects).
  // A 0-byte file is an empty export too (no header at all): counted as empty, not read.
  const zeroBytes = new Set(o.files.filter((f) => statSync(f).size === 0));
  let tokenColumn = false;
  // Rejects files of ours fed back (fixed): their first four columns are known, and masked cells are refused.
  const rejectsFiles = new Set<string>();
  for (const file of o.files) {
    if (zeroBytes.has(file)) continue;
    const enc = await checkEncoding(file, encoding);
    if (!enc.ok) throw new SyncError('SYNC_SOURCE_READ', enc.message, { file, line: enc.line });
    // Read as GBK, a UTF-8 file's Chinese text turns into other Chinese text that validates: it would be sent
    // garbled. A stop, like the reverse case.
    if ('warning' in enc) throw new SyncError('SYNC_SOURCE_READ', `${enc.warning}: pass --encoding utf8 (the default) if it is UTF-8`, { file });
    const columns = await readCsvHeader(file, { encoding });
    if (isRejectsHeader(columns)) rejectsFiles.add(file);
    // app_auth_token is no field of any dataset: it says which merchant a row is sent for (run/merchants.ts).
    const { missing, unknown: named, hasToken } = checkHeaderWithToken(dataset, columns);
    tokenColumn ||= hasToken;
    // (a rejects file of a run with merchants also names each row's merchant: known too)
    const unknown = rejectsFiles.has(file) ? named.filter((c) => !(REJECTS_COLUMNS as readonly string[]).includes(c) && c !== 'merchant') : named;
    if (missing.length) {
      throw new SyncError('SYNC_SOURCE_HEADER', `${file}: missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (found: ${columns.map((c) => maskLookAlike(c, hasPersonalData(dataset))).join(', ')})`, { file, line: 1 });
    }
    if (unknown.length) logger.warn(`${file}: ignoring unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  }
  if (!o.dryRun && !o.client) throw new SyncError('SYNC_CONFIG_INVALID', 'no gateway client configured');

  // A dry run leaves no trace: without a ledger file yet, it plans against a throw-away one (every row is new).
  // (A PostgreSQL ledger opened for a dry run is one transaction, rolled back at close: no trace either.)
  const shared = isPostgresLocation(o.ledgerPath);
  let scratch: string | null = null;
  let ledgerPath = o.ledgerPath;
  if (!shared && o.dryRun && !existsSync(ledgerPath)) {
    scratch = mkdtempSync(join(tmpdir(), 'alipay-sync-dry-run-'));
    ledgerPath = join(scratch, 'ledger.db');
  }
  // The ledger can hold personal data until rows are sent: an existing one readable by others is made private
  // (SQLite gives its -wal and -shm the ledger's own mode).
  if (!shared && existsSync(ledgerPath) && (statSync(ledgerPath).mode & 0o077) !== 0) {
    chmodSync(ledgerPath, 0o600);
    logger.warn(`${ledgerPath} was readable by other users: made it 0600 (its -wal and -shm follow)`);
  }
  let ledger: AnyLedger | null = null;
  let rejectsFile: RejectsFile | null = null;
  let sinkOpen = Boolean(o.sink);
  let runId = 0;
  let removeExitHook = () => {};
  let watch = observeAll(o.observers ?? []);
  try {
    ledger = await openLedger(ledgerPath, { hashKey: o.hashKey, rebind: Boolean(o.rebind), dryRun: Boolean(o.dryRun), schema: o.ledgerSchema, leaseMs: o.leaseMs });
    if (ledger.secretSource === 'rebound') logger.warn('the ledger was written with another app private key: content is compared afresh, so every row counts as changed and is sent once more');
    if (ledger.secretSource === 'wrapped-legacy') logger.info('the ledger\'s hash secret is now kept wrapped under the app private key (it was stored in clear by an older version)');
    const { tookOver } = await ledger.acquireLock();
    if (tookOver) {
      const why = tookOver.reason === 'lease-expired' ? `its lease on host ${tookOver.host} ran out` : tookOver.reason === 'pid-reused' ? 'its pid now belongs to another process' : 'it is gone';
      logger.warn(`taking over the ledger from an earlier run (pid ${tookOver.pid} on ${tookOver.host}, since ${tookOver.since}) that did not finish: ${why}; its unsent rows will be sent`);
    }
    const bound = await ledger.bindTarget(o.target, { rebind: Boolean(o.rebind), dryRun: Boolean(o.dryRun) });
    if (bound.state === 'moved') logger.info(`ledger moved from ${bound.previous} to this target: no row was ever confirmed uploaded there`);
    if (bound.state === 'rebound') logger.warn(`ledger rebound from ${bound.previous} to this target: ${formatCount(bound.rebound ?? 0)} row(s) it held as uploaded there are sent again when their files are read`);
    if (!o.dryRun) await attachCertificates(o.client, ledger, logger, clock());
    // A dry run records no run: its staging is rolled back, and run 0 is nobody's.
    if (!o.dryRun) {
      // The rate an earlier run learned, where this one starts (for the report): the one without a merchant, or the first.
      const learned = await ledger.learnedRates(o.target.appId, dataset.method);
      const learnedRate = o.learnedRate !== undefined ? o.learnedRate : (learned.find((l) => l.merchant === '') ?? learned[0])?.rate;
      runId = await ledger.startRun(dataset.name, o.command ?? `upload ${dataset.name}`, o.files, false, {
        qps: o.qps && Number.isFinite(o.qps) ? o.qps : null, concurrency: o.concurrency ?? 8, max_attempts: o.maxAttempts ?? 5,
        ...(learnedRate !== undefined ? { learned_rate: learnedRate } : {}),
      });
      // How it sends, for its report (alipay-sync report): aggregates written about once a second.
      watch = observeAll([new TimingRecorder(ledger, runId, logger, clock), ...(o.observers ?? [])]);
    }
    // A second Ctrl-C quits at once (process.exit): the run is still recorded as interrupted, not left "running".
    // better-sqlite3 is synchronous, so an exit handler can write. (A PostgreSQL ledger cannot write then: its
    // worker's heartbeat stops instead, and the next worker to start records the run as crashed.)
    const sync = ledger.shared ? null : (ledger as LedgerPort<'sync'>);
    const onExit = () => {
      try {
        sync?.finishRun(runId, 'interrupted', EXIT.INTERRUPTED, {}, 'quit at once by a second interrupt: rows in flight stay pending');
        sync?.releaseLock();
      } catch {
        // the process is ending: nothing more to do
      }
    };
    if (runId && sync) {
      process.once('exit', onExit);
      removeExitHook = () => process.off('exit', onExit);
    }
    const session = await sessionOf(ledger, dataset, runId, started, Boolean(o.fresh), o.files, logger);
    if (session !== null && !o.dryRun) {
      const dropped = await ledger.dropPendingOutside(dataset.name, session);
      if (dropped) logger.info(`${formatCount(dropped)} question(s) an unfinished earlier export left unasked are dropped: they belong to another set of files (asked again when a file names them)`);
    }
    const retrySub = o.retryFailed?.subCode ?? o.reviveFailed?.subCode;
    if (retrySub !== undefined) await warnUnknownSubCode(ledger, dataset.name, retrySub, o.retryFailed ? 'refused' : 'failed', logger);
    // Each row's merchant: its app_auth_token cell, else --app-auth-token (held in memory only: a token is a secret).
    const opened = ledger;
    const defaultToken = o.appAuthToken ?? o.client?.appAuthToken;
    const merchants = new MerchantBook((text) => opened.hash(text), defaultToken);
    const columns = dataset.fields.map((f) => f.name);
    if (o.rejectsPath) rejectsFile = new RejectsFile(o.rejectsPath, tokenColumn || defaultToken ? [...columns, 'merchant'] : columns, { bom: o.bom });

    // `retry` and `work` read no file: they send what the ledger holds
    const staged = o.files.length
      ? await stageAll(o, ledger, ledgerPath, runId, rejectsFile, encoding, session, { zeroBytes, rejectsFiles, merchants })
      : { read: 0, emptyFiles: [], rejected: 0, unchanged: 0, refused: 0, interrupted: false, plan: null };
    if (runId) await ledger.stagingDone(runId);
    // Staging is the only writer of the rejects file: close it now, so that a failed final write stops the run.
    const rejectsDone = rejectsFile;
    rejectsFile = null;
    await rejectsDone?.close();
    for (const f of staged.emptyFiles) {
      if (o.allowEmpty) logger.info(`${f}: no data rows (allowed by --allow-empty)`);
      else logger.warn(`${f}: no data rows (an empty export usually means the export broke; --allow-empty if it is expected)`);
    }

    if (staged.refused) {
      logger.warn(o.retryFailed
        ? `${formatCount(staged.refused)} row(s) that Alipay refused for their content are unchanged and not of --sub-code ${o.retryFailed.subCode ?? ''}: not sent again (still refused; alipay-sync rows --status failed lists them)`
        : `${formatCount(staged.refused)} row(s) that Alipay refused for their content are unchanged: not sent again (still refused; alipay-sync rows --status failed lists them; --retry-failed sends them anyway)`);
    }

    watch.staged({ read: staged.read, rejected: staged.rejected, unchanged: staged.unchanged });
    if (o.dryRun) {
      const { carried, ...plan } = staged.plan ?? { new: 0, changed: 0 };
      const summary = summarize({
        runId: 0, dataset: dataset.name, staged, mine: { uploaded: 0, failed: staged.refused, pending: plan.new + plan.changed },
        carried: { uploaded: 0, failed: 0, pending: carried ?? (await ledger.countPending(dataset.name)) }, retries: 0, durationMs: clock() - started, dryRun: true, plan,
      });
      return { summary, exitCode: exitCodeOf(summary, Boolean(o.allowEmpty)) };
    }

    let sendState: SendState = { retries: 0, stop: null, carried: { uploaded: 0, failed: 0, pending: 0 }, sent: { uploaded: 0, failed: 0, ms: 0 }, merchants: [] };
    const revived = o.reviveFailed ? await ledger.reviveFailed(dataset.name, o.reviveFailed) : undefined;
    if (revived) logRevived(revived, dataset.name, logger);
    if (!staged.interrupted) {
      const revived = await ledger.reviveRetryable(dataset.name);
      if (revived) logger.info(`retrying ${formatCount(revived)} row(s) that earlier runs gave up on because of gateway trouble`);
      sendState = await sendPending(o, ledger, runId, watch, merchants);
    }
    if (sendState.stop?.kind === 'error') {
      const err = sendState.stop.error;
      const sqlite = typeof (err as { code?: unknown })?.code === 'string' && String((err as { code: string }).code).startsWith('SQLITE_');
      throw sqlite ? new SyncError('SYNC_OUTPUT', `cannot write the ledger ${o.ledgerPath}: ${(err as Error).message}; rows not recorded stay pending`, {}, { cause: err }) : err;
    }

    sinkOpen = false;
    const note = await o.sink?.close({ complete: !staged.interrupted && !sendState.stop, ledger, dataset: dataset.name, session: session ?? '' });
    if (note && note.note) logger.info(note.note);
    // ('error' threw above: what is left is an abort or an interrupt)
    const stop = sendState.stop ? { ...sendState.stop, kind: sendState.stop.kind as 'abort' | 'interrupt' | 'quota' } : null;
    const summary = summarize({
      runId, dataset: dataset.name, staged, mine: await ledger.runOutcomes(runId, dataset.name), carried: sendState.carried,
      retries: sendState.retries, durationMs: clock() - started, dryRun: false, stop, ...(revived ? { revived } : {}), sent: sendState.sent,
      merchants: { counts: await ledger.runOutcomesByMerchant(runId, dataset.name), reports: sendState.merchants },
      ...(sendState.quotaResetsAt !== undefined ? { quotaResetsAt: sendState.quotaResetsAt } : {}),
    });
    const exitCode = exitCodeOf(summary, Boolean(o.allowEmpty));
    await ledger.finishRun(runId, summary.status, exitCode, { ...summary }, summary.abort_reason ?? summary.stop?.message);
    return { summary, exitCode };
  } catch (err) {
    // An output that cannot be written, a ledger error, a bug: the run is recorded as failed (not left
    // "running"), and what it staged stays pending for the next run.
    if (ledger && runId) {
      try {
        await ledger.finishRun(runId, 'failed', exitCodeFor(err), {}, (err as Error).message);
      } catch {
        // the ledger itself may be what failed
      }
    }
    throw err;
  } finally {
    removeExitHook();
    await watch.close();
    if (sinkOpen && ledger) await o.sink!.close({ complete: false, ledger, dataset: dataset.name, session: '' }).catch((err: unknown) => logger.error(`cannot finish the export: ${(err as Error).message}`));
    rejectsFile?.abandon();
    if (ledger) {
      try {
        // A shared ledger that cannot be reached any more: the heartbeat's expiry frees the claims anyway.
        await Promise.resolve(ledger.releaseLock()).catch((err: unknown) => {
          if (!ledger?.shared) throw err;
        });
      } finally {
        await ledger.close();
      }
    }
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** What `retry` took from the ledger, and which files to read again for the rest (bodies with personal data are never kept). */
function logRevived(r: FailedRevived, dataset: string, logger: Logger): void {
  logger.info(`retrying ${formatCount(r.revived)} failed row(s) whose request the ledger kept`);
  for (const f of r.withoutBody) {
    const command = dataset.startsWith('agreement-') ? `agreements ${dataset === 'agreement-effects' ? 'effect' : 'query'}` : `upload ${dataset}`;
    logger.warn(`${formatCount(f.rows)} failed row(s) of ${f.file ?? 'an unknown file'} have no request kept (personal data is not kept): read the file again with alipay-sync ${command} ${f.file ?? '<file>'} --retry-failed`);
  }
}

/**
 * `--retry-failed --sub-code X` or `retry --sub-code X` where no such row is failed: said, with the sub_codes there
 * are, instead of a run that silently sends nothing of it (a typo, or the rows were sent again already).
 */
async function warnUnknownSubCode(ledger: AnyLedger, dataset: string, subCode: string, which: 'refused' | 'failed', logger: UploadOptions['logger']): Promise<void> {
  const groups = (await ledger.failuresBySubCode(dataset)).filter((g) => which === 'failed' || g.refused);
  if (groups.some((g) => g.subCode === subCode)) return;
  const counts = new Map<string, number>();
  for (const g of groups) counts.set(g.subCode, (counts.get(g.subCode) ?? 0) + g.count);
  const there = [...counts].map(([code, n]) => `${code} (${formatCount(n)})`).join(', ');
  logger.warn(`--sub-code ${subCode}: no ${which} row of ${dataset} has that sub_code (or code), so none is sent again for it; ${there ? `the ${which} rows have: ${there}` : `there are no ${which} rows`}`);
}
