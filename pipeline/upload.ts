import pLimit from 'p-limit';
import type { Dataset } from '../sources/dataset.js';
import { maskLookAlike } from '../sources/mask.js';
import { checkEncoding, readCsvBatches, readCsvHeader, type Encoding } from '../sources/csv.js';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ledger, type AttemptRecord, type LedgerTarget, type PendingRecord, type RejectRecord, type ResultRecord, type RunInfo } from '../state/ledger.js';
import { BackgroundStager } from '../state/stage-worker.js';
import type { AlipayClient, CallResult } from './alipay/client.js';
import { FailureStreak, type Outcome } from './alipay/classify.js';
import { agreementStatus } from '../sources/agreement-query.js';
import { EXIT, SyncError, exitCodeFor } from './errors.js';
import type { Logger } from './log.js';
import { Progress, formatCount } from './progress.js';
import { RateLimiter, backoffDelay, sleep } from './rate-limit.js';
import { RejectsFile } from './rejects-file.js';
import { hasPersonalData, redactorFor } from './redact.js';
import type { ResultSink } from './agreements.js';

export interface UploadOptions {
  dataset: Dataset;
  files: string[];
  ledgerPath: string;
  /** null only for a dry run */
  client: AlipayClient | null;
  /** where rows go: the ledger remembers it and refuses another (see Ledger.bindTarget) */
  target: LedgerTarget;
  /** key material the ledger's hash secret is wrapped with (the app private key's DER bytes) */
  hashKey: Buffer;
  /** bind a ledger used with another target or key to this one */
  rebind?: boolean;
  encoding?: Encoding;
  dryRun?: boolean;
  rejectsPath?: string;
  /** a file with no data rows is fine (otherwise: a warning, and exit 1) */
  allowEmpty?: boolean;
  /** datasets that ask again every run (queries): ask everyone, not only those an interrupted run left */
  fresh?: boolean;
  qps?: number;
  concurrency?: number;
  maxAttempts?: number;
  backoffMs?: number;
  notifyUrl?: string;
  logger: Logger;
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
  progressIntervalMs?: number;
  /** Ctrl-C: stop taking rows, settle the ones in flight, record them */
  signal?: AbortSignal;
  /** how the run is named in the ledger (the command line, without secrets) */
  command?: string;
  clock?: () => number;
  /** what to do with a verified success beyond recording it (agreements keep the answer) */
  sink?: ResultSink;
  /** how many rows in a row may give up on transient errors before the run stops as "gateway unreachable" */
  giveUpStreak?: number;
  /** how many rows in a row may fail with one sub_code before the run stops as "probably configuration" */
  failureStreak?: number;
}

export interface UploadSummary {
  run_id: number;
  dataset: string;
  read: number;
  rejected: number;
  superseded: number;
  skipped: number;
  uploaded: number;
  failed: number;
  pending: number;
  duration_ms: number;
  status: 'done' | 'aborted' | 'interrupted' | 'dry-run';
  dry_run: boolean;
  /** dry run only: of the rows that would be sent, how many keys are new to Alipay and how many change */
  plan?: { new: number; changed: number };
  /** rows staged by earlier runs (left pending by a crash, abort or gateway trouble) that this run sent */
  carried_over: { uploaded: number; failed: number; pending: number };
  retries: number;
  /** input files that held no data row (an empty export usually means the export broke) */
  empty_files: string[];
  /** the run-fatal reason when status is aborted */
  abort_reason?: string;
}

export interface UploadResult {
  summary: UploadSummary;
  exitCode: number;
}

/** rows per batch handed to the staging thread: small enough that a batch dies young in the garbage collector */
const STAGE_BATCH = 1000;
const CLAIM_BATCH = 512;
const SHOW_FIRST = 20;
/** how long an interrupted query run may be resumed: after that, everyone is asked again */
const RESUME_WINDOW_MS = 24 * 3600_000;

/** The one place a finished run's exit code is decided from its counts (see EXIT in errors.ts). */
function exitCodeOf(s: UploadSummary, allowEmpty: boolean): number {
  if (s.status === 'interrupted') return EXIT.INTERRUPTED;
  if (s.status === 'aborted') return EXIT.GATEWAY;
  const c = s.carried_over;
  const trouble = s.rejected + s.failed + c.failed + (s.dry_run ? 0 : s.pending + c.pending);
  return trouble > 0 || (!allowEmpty && s.empty_files.length > 0) ? EXIT.ROWS : EXIT.OK;
}

/**
 * Datasets that ask again every run (queries) send each row once per export "session": a run that follows an
 * interrupted, aborted or crashed one of the same dataset within 24 h continues its session (the rows that one
 * finished are skipped as unchanged), any other starts a new one. The session is the start time of its first
 * run, used as the rows' snapshot, so the ledger's own rules (newest snapshot wins) do the skipping.
 */
function sessionOf(ledger: Ledger, dataset: Dataset, runId: number, now: number, fresh: boolean, files: readonly string[], logger: Logger): string | null {
  if (dataset.sendPolicy !== 'always') return null;
  let session: string | null = null;
  let resumed: RunInfo | null = null;
  let mine = new Date(now).toISOString();
  for (const r of ledger.recentRuns(100, dataset.name)) {
    if (r.id === runId) {
      // this run's own start, exactly as recorded: the next run may continue its session
      mine = r.startedAt;
      continue;
    }
    if (fresh || r.dryRun) continue;
    if (r.status === 'done' || now - Date.parse(r.startedAt) > RESUME_WINDOW_MS) break;
    // Only the same question continues: another set of files (tonight's list of users) starts a new export.
    if (!sameFiles(r.files, files)) break;
    session = r.startedAt;
    resumed ??= r;
  }
  if (fresh || !session || !resumed) return mine;
  logger.info(`continuing run ${resumed.id} of ${session.replace('T', ' ').slice(0, 19)} UTC, which did not finish (${resumed.status}): rows it already sent are not sent again (--fresh to send every row)`);
  return session;
}

function sameFiles(a: readonly string[], b: readonly string[]): boolean {
  const norm = (l: readonly string[]) => [...new Set(l.map((f) => resolve(f)))].sort().join('\n');
  return norm(a) === norm(b);
}

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
  for (const file of o.files) {
    if (zeroBytes.has(file)) continue;
    const enc = await checkEncoding(file, encoding);
    if (!enc.ok) throw new SyncError('SYNC_SOURCE_READ', enc.message, { file, line: enc.line });
    // Read as GBK, a UTF-8 file's Chinese text turns into other Chinese text that validates: it would be sent
    // garbled. A stop, like the reverse case.
    if ('warning' in enc) throw new SyncError('SYNC_SOURCE_READ', `${enc.warning}: pass --encoding utf8 (the default) if it is UTF-8`, { file });
    const columns = await readCsvHeader(file, { encoding });
    const { missing, unknown } = dataset.checkHeader(columns);
    if (missing.length) {
      throw new SyncError('SYNC_SOURCE_HEADER', `${file}: missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (found: ${columns.map((c) => maskLookAlike(c, hasPersonalData(dataset))).join(', ')})`, { file, line: 1 });
    }
    if (unknown.length) logger.warn(`${file}: ignoring unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  }
  if (!o.dryRun && !o.client) throw new SyncError('SYNC_CONFIG_INVALID', 'no gateway client configured');

  // A dry run leaves no trace: without a ledger yet, it plans against a throw-away one (every row is new).
  let scratch: string | null = null;
  let ledgerPath = o.ledgerPath;
  if (o.dryRun && !existsSync(ledgerPath)) {
    scratch = mkdtempSync(join(tmpdir(), 'alipay-sync-dry-run-'));
    ledgerPath = join(scratch, 'ledger.db');
  }
  // The ledger can hold personal data until rows are sent: an existing one readable by others is made private
  // (SQLite gives its -wal and -shm the ledger's own mode).
  if (existsSync(ledgerPath) && (statSync(ledgerPath).mode & 0o077) !== 0) {
    chmodSync(ledgerPath, 0o600);
    logger.warn(`${ledgerPath} was readable by other users: made it 0600 (its -wal and -shm follow)`);
  }
  let ledger: Ledger | null = null;
  let rejectsFile: RejectsFile | null = null;
  let sinkOpen = Boolean(o.sink);
  let runId = 0;
  try {
    ledger = new Ledger(ledgerPath, { hashKey: o.hashKey, rebind: Boolean(o.rebind), dryRun: Boolean(o.dryRun) });
    if (ledger.secretSource === 'rebound') logger.warn('the ledger was written with another app private key: content is compared afresh, so every row counts as changed and is sent once more');
    if (ledger.secretSource === 'wrapped-legacy') logger.info('the ledger\'s hash secret is now kept wrapped under the app private key (it was stored in clear by an older version)');
    const { tookOver } = ledger.acquireLock();
    if (tookOver) {
      const why = tookOver.reason === 'lease-expired' ? `its lease on host ${tookOver.host} ran out` : tookOver.reason === 'pid-reused' ? 'its pid now belongs to another process' : 'it is gone';
      logger.warn(`taking over the ledger from an earlier run (pid ${tookOver.pid} on ${tookOver.host}, since ${tookOver.since}) that did not finish: ${why}; its unsent rows will be sent`);
    }
    const bound = ledger.bindTarget(o.target, { rebind: Boolean(o.rebind), dryRun: Boolean(o.dryRun) });
    if (bound.state === 'moved') logger.info(`ledger moved from ${bound.previous} to this target: no row was ever confirmed uploaded there`);
    if (bound.state === 'rebound') logger.warn(`ledger rebound from ${bound.previous} to this target: ${formatCount(bound.rebound ?? 0)} row(s) it held as uploaded there are sent again when their files are read`);
    // A dry run records no run: its staging is rolled back, and run 0 is nobody's.
    if (!o.dryRun) runId = ledger.startRun(dataset.name, o.command ?? `upload ${dataset.name}`, o.files, false);
    const session = sessionOf(ledger, dataset, runId, started, Boolean(o.fresh), o.files, logger);
    if (session !== null && !o.dryRun) {
      const dropped = ledger.dropPendingOutside(dataset.name, session);
      if (dropped) logger.info(`${formatCount(dropped)} question(s) an unfinished earlier export left unasked are dropped: they belong to another set of files (asked again when a file names them)`);
    }
    if (o.rejectsPath) rejectsFile = new RejectsFile(o.rejectsPath, dataset.fields.map((f) => f.name));

    const staged = await stageAll(o, ledger, ledgerPath, runId, rejectsFile, encoding, session, zeroBytes);
    // Staging is the only writer of the rejects file: close it now, so that a failed final write stops the run.
    const rejectsDone = rejectsFile;
    rejectsFile = null;
    await rejectsDone?.close();
    const validRead = staged.read - staged.rejected;
    for (const f of staged.emptyFiles) {
      if (o.allowEmpty) logger.info(`${f}: no data rows (allowed by --allow-empty)`);
      else logger.warn(`${f}: no data rows (an empty export usually means the export broke; --allow-empty if it is expected)`);
    }

    if (o.dryRun) {
      const plan = staged.plan ?? { new: 0, changed: 0 };
      const toSend = plan.new + plan.changed;
      const summary: UploadSummary = {
        run_id: 0, dataset: dataset.name, read: staged.read, rejected: staged.rejected,
        superseded: validRead - staged.unchanged - toSend, skipped: staged.unchanged,
        uploaded: 0, failed: 0, pending: toSend, duration_ms: clock() - started, status: staged.interrupted ? 'interrupted' : 'dry-run', dry_run: true, plan,
        carried_over: { uploaded: 0, failed: 0, pending: ledger.countPending(dataset.name) }, retries: 0, empty_files: staged.emptyFiles,
      };
      return { summary, exitCode: exitCodeOf(summary, Boolean(o.allowEmpty)) };
    }

    let sendState: SendState = { retries: 0, stop: null, carried: { uploaded: 0, failed: 0, pending: 0 } };
    if (!staged.interrupted) {
      const revived = ledger.reviveRetryable(dataset.name);
      if (revived) logger.info(`retrying ${formatCount(revived)} row(s) that earlier runs gave up on because of gateway trouble`);
      sendState = await sendPending(o, ledger, runId);
    }
    if (sendState.stop?.kind === 'error') {
      const err = sendState.stop.error;
      const sqlite = typeof (err as { code?: unknown })?.code === 'string' && String((err as { code: string }).code).startsWith('SQLITE_');
      throw sqlite ? new SyncError('SYNC_OUTPUT', `cannot write the ledger ${o.ledgerPath}: ${(err as Error).message}; rows not recorded stay pending`, {}, { cause: err }) : err;
    }

    sinkOpen = false;
    const note = await o.sink?.close({ complete: !staged.interrupted && !sendState.stop, ledger, dataset: dataset.name, session: session ?? '' });
    if (note && note.note) logger.info(note.note);
    const mine = ledger.runOutcomes(runId, dataset.name);
    const carried = sendState.carried;
    const stagedByMe = mine.pending + mine.uploaded + mine.failed;
    const interrupted = staged.interrupted || sendState.stop?.kind === 'interrupt';
    const aborted = sendState.stop?.kind === 'abort';
    const summary: UploadSummary = {
      run_id: runId, dataset: dataset.name, read: staged.read, rejected: staged.rejected,
      superseded: validRead - staged.unchanged - stagedByMe, skipped: staged.unchanged,
      uploaded: mine.uploaded, failed: mine.failed, pending: mine.pending, duration_ms: clock() - started,
      status: interrupted ? 'interrupted' : aborted ? 'aborted' : 'done', dry_run: false,
      carried_over: carried, retries: sendState.retries, empty_files: staged.emptyFiles,
    };
    if (aborted) summary.abort_reason = sendState.stop!.reason;
    const exitCode = exitCodeOf(summary, Boolean(o.allowEmpty));
    ledger.finishRun(runId, summary.status, exitCode, { ...summary }, summary.abort_reason);
    return { summary, exitCode };
  } catch (err) {
    // An output that cannot be written, a ledger error, a bug: the run is recorded as failed (not left
    // "running"), and what it staged stays pending for the next run.
    if (ledger && runId) {
      try {
        ledger.finishRun(runId, 'failed', exitCodeFor(err), {}, (err as Error).message);
      } catch {
        // the ledger itself may be what failed
      }
    }
    throw err;
  } finally {
    if (sinkOpen && ledger) await o.sink!.close({ complete: false, ledger, dataset: dataset.name, session: '' }).catch((err: unknown) => logger.error(`cannot finish the export: ${(err as Error).message}`));
    rejectsFile?.abandon();
    if (ledger) {
      ledger.releaseLock();
      ledger.close();
    }
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

interface StageTotals {
  read: number;
  /** files that held a header and no data row */
  emptyFiles: string[];
  rejected: number;
  unchanged: number;
  interrupted: boolean;
  /** dry run: what would be sent */
  plan: { new: number; changed: number } | null;
}

async function stageAll(
  o: UploadOptions, ledger: Ledger, ledgerPath: string, runId: number, rejectsFile: RejectsFile | null, encoding: Encoding, session: string | null,
  zeroBytes: ReadonlySet<string>,
): Promise<StageTotals> {
  const { dataset, logger } = o;
  const totals: StageTotals = { read: 0, emptyFiles: [], rejected: 0, unchanged: 0, interrupted: false, plan: null };
  const progress = new Progress({
    stream: o.progressStream ?? process.stderr, label: `${o.dryRun ? 'checking' : 'staging'} ${dataset.name}`,
    intervalMs: o.progressIntervalMs, enabled: Boolean(o.progressStream),
  });
  // The ledger's upserts run on a worker thread (its own connection) while this thread reads and validates.
  // A dataset that asks again every run is staged by session (see sessionOf): its rows' snapshot is the session.
  const policy = session !== null ? 'snapshot' : dataset.sendPolicy ?? 'snapshot';
  const stager = new BackgroundStager({
    ledgerPath, runId, dataset: dataset.name, policy, dryRun: Boolean(o.dryRun), hashSecret: ledger.hashSecret!,
  });
  let keys: string[] = [];
  let snapshots: string[] = [];
  let payloads: string[] = [];
  let lines: number[] = [];
  let rejects: RejectRecord[] = [];
  const flush = async (file: string) => {
    if (keys.length || rejects.length) await stager.stage({ file, keys, snapshots, payloads, lines, rejects });
    keys = [];
    snapshots = [];
    payloads = [];
    lines = [];
    rejects = [];
  };
  const reject = async (file: string, line: number, field: string, reason: string, cells: Record<string, string> | null) => {
    totals.rejected++;
    rejects.push({ file, line, field, reason });
    if (totals.rejected <= SHOW_FIRST) logger.warn(`${file}:${line}: rejected: ${field ? field + ': ' : ''}${reason}`);
    else if (totals.rejected === SHOW_FIRST + 1) logger.warn(`more rejected rows follow; ${o.rejectsPath ? `all are in ${o.rejectsPath}` : 'use --rejects <file> to get them all'} and in the ledger (alipay-sync status)`);
    if (rejectsFile) await rejectsFile.write(file, line, field, reason, cells ? dataset.safeCells(cells) : null);
  };
  const progressText = () => `${formatCount(totals.rejected)} rejected`;
  let finished = false;
  try {
    outer: for (const file of o.files) {
      if (zeroBytes.has(file)) {
        totals.emptyFiles.push(file);
        continue;
      }
      const before = totals.read;
      for await (const recs of readCsvBatches(file, { encoding })) for (const rec of recs) {
        totals.read++;
        if ('error' in rec) {
          await reject(file, rec.line, '', rec.error, null);
        } else {
          const v = dataset.validate(rec.cells);
          if (v.ok) {
            // A key that may hold personal data is stored as a keyed hash (the ledger's secret), never in clear.
            keys.push(dataset.personalKey ? `h:${ledger.hash(v.row.key)}` : v.row.key);
            snapshots.push(session ?? v.row.snapshot);
            payloads.push(v.row.bizContent);
            lines.push(rec.line);
          } else {
            const fields = [...new Set(v.errors.map((e) => e.field))].join(' ');
            const reason = v.errors.length === 1 ? v.errors[0]!.reason : v.errors.map((e) => `${e.field}: ${e.reason}`).join('; ');
            await reject(file, rec.line, fields, reason, rec.cells);
          }
        }
        if (keys.length >= STAGE_BATCH || rejects.length >= STAGE_BATCH) {
          await flush(file);
          progress.update(totals.read, progressText);
          if (o.signal?.aborted) {
            totals.interrupted = true;
            break outer;
          }
        }
      }
      await flush(file);
      if (totals.read === before) totals.emptyFiles.push(file);
    }
    const done = await stager.finish();
    finished = true;
    totals.unchanged = done.unchanged;
    totals.plan = done.plan;
  } finally {
    if (!finished) await stager.abort();
    progress.stop();
  }
  if (totals.interrupted) logger.warn(`interrupted while staging: ${formatCount(totals.read)} rows read so far are in the ledger; run the same command again to continue`);
  return totals;
}

interface SendState {
  retries: number;
  /** outcomes of rows staged by earlier runs that this run sent (counted as they happen: a query would scan the table) */
  carried: { uploaded: number; failed: number; pending: number };
  stop: { kind: 'abort' | 'interrupt' | 'error'; reason: string; error?: unknown } | null;
}

async function sendPending(o: UploadOptions, ledger: Ledger, runId: number): Promise<SendState> {
  const { dataset, logger } = o;
  const client = o.client!;
  const policy = dataset.answers;
  const redact = redactorFor(dataset);
  // A row with personal data keeps its request body in the ledger only while it is pending.
  const keepFailedPayload = !hasPersonalData(dataset);
  const concurrency = o.concurrency ?? 8;
  const maxAttempts = o.maxAttempts ?? 5;
  const backoffMs = o.backoffMs ?? 500;
  const giveUpStreak = o.giveUpStreak ?? Math.max(10, concurrency * 2);
  const limiter = new RateLimiter({ qps: o.qps ?? 0 });
  const state: SendState = { retries: 0, stop: null, carried: { uploaded: 0, failed: 0, pending: 0 } };
  // Aborts every wait (rate slot, backoff) but never a request in flight: those settle and are recorded.
  const halt = new AbortController();
  const stopWith = (kind: 'abort' | 'interrupt' | 'error', reason: string, error?: unknown) => {
    if (state.stop) return;
    state.stop = { kind, reason, error };
    halt.abort();
    if (kind === 'abort' || kind === 'error') logger.error(`stopping the run: ${reason}`);
    else logger.warn('interrupted: finishing the requests in flight, then stopping (Ctrl-C again to quit at once; unsent rows stay pending)');
  };
  const onAbort = () => stopWith('interrupt', 'interrupted');
  if (o.signal?.aborted) onAbort();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  // Group commit: outcomes that arrive in the same turn of the event loop are written in one transaction. A row
  // keeps its concurrency slot until its outcome is committed, so the rows sent but not recorded never number
  // more than --concurrency (what a kill -9 can make us send twice).
  let queued: { result: ResultRecord; attempt?: AttemptRecord | undefined; done: () => void; fail: (e: unknown) => void }[] = [];
  const flush = () => {
    const batch = queued;
    queued = [];
    try {
      ledger.recordResults(batch);
      for (const b of batch) b.done();
    } catch (err) {
      for (const b of batch) b.fail(err);
    }
  };
  const record = (result: ResultRecord, attempt: AttemptRecord | undefined, stagedBy: number) =>
    new Promise<void>((done, fail) => {
      if (stagedBy !== runId) state.carried[result.status]++;
      if (queued.length === 0) setImmediate(flush);
      queued.push({ result, attempt, done, fail });
    });

  const total = ledger.countPending(dataset.name);
  let done = 0;
  let failed = 0;
  let giveUps = 0;
  const progress = new Progress({
    stream: o.progressStream ?? process.stderr, label: `sending ${dataset.name}`, total,
    intervalMs: o.progressIntervalMs, enabled: Boolean(o.progressStream) && total > 0,
  });
  const extra = () => `${formatCount(failed)} failed · ${formatCount(state.retries)} retries`;
  const tick = () => progress.update(done, extra);

  // One row's content fails the row; the same sub_code on many rows in a row is probably configuration.
  const streak = new FailureStreak(o.failureStreak ?? 20);
  const noteFinal = (res: Outcome) => {
    const stop = streak.note(res);
    if (stop) stopWith('abort', stop);
  };

  /**
   * An answer that leaves the row's real state unclear (a sign.effect answered STATUS_ABNORMAL or
   * PERIOD_CONFILICT, e.g. after an earlier attempt that did take effect): read the state back with the
   * dataset's query before recording anything. The verdict is the read-back's, with the first answer named.
   */
  const readBack = async (row: PendingRecord, first: CallResult): Promise<CallResult> => {
    const question = o.sink?.readBack?.(row);
    if (!question) return { ...first, kind: 'row-fatal' };
    await limiter.take(halt.signal);
    const q = await client.call(question.method, question.bizContent, { policy: question.answers });
    const was = `${first.subCode ?? first.code}`;
    if (q.kind === 'success' && q.fields) {
      const status = agreementStatus(q.fields);
      if (status === question.wanted) return { ...q, reason: `${was}, but ${question.method} confirms it ${status}` };
      return { ...q, kind: 'row-fatal', code: first.code, subCode: first.subCode, subMsg: first.subMsg, reason: `${first.reason}; ${question.method} shows it ${status ?? 'without a status'}` };
    }
    // The read-back itself went wrong: its own kind decides (transient: try the row again; run-fatal: stop).
    return { ...q, reason: `${first.reason}; reading its state back failed: ${q.reason}` };
  };

  const sendOne = async (row: PendingRecord): Promise<void> => {
    let attempts = row.attempts;
    let startedHere = 0;
    for (;;) {
      if (state.stop) return;
      await limiter.take(halt.signal);
      if (state.stop) return;
      attempts++;
      startedHere++;
      const sentAt = limiter.now();
      let res = await client.call(dataset.method, row.payload, { policy, notifyUrl: o.notifyUrl });
      if (res.kind === 'reconcile') res = await readBack(row, res);
      res.reason = redact(res.reason, row.payload) ?? '';
      res.subMsg = redact(res.subMsg, row.payload);
      const attempt = { runId, dataset: dataset.name, key: row.key, attempt: attempts, kind: res.kind, code: res.code, subCode: res.subCode, durationMs: res.durationMs };
      const base = { rowid: row.rowid, runId, attempts, code: res.code, subCode: res.subCode, subMsg: res.subMsg, reason: res.reason };
      logger.debug(`${row.key}: attempt ${attempts}: ${res.kind} ${res.code}${res.subCode ? ' ' + res.subCode : ''} (${res.durationMs} ms)`);
      if (res.kind === 'success') {
        // A sink keeps what it returns (made free of personal data); other datasets keep the answer's fields.
        const result = o.sink ? (res.fields ? await o.sink.success({ ledger, runId, row, fields: res.fields }) : undefined) : resultOf(res);
        // The attempts table is the history of trouble: a first-try success is told by the record itself.
        await record({ ...base, status: 'uploaded', result }, attempts > 1 ? attempt : undefined, row.run_id);
        giveUps = 0;
        noteFinal(res);
        done++;
        return tick();
      }
      if (res.kind === 'row-fatal') {
        await record({ ...base, status: 'failed', retryable: false, keepPayload: false, result: resultOf(res) }, attempt, row.run_id);
        failed++;
        done++;
        if (failed <= SHOW_FIRST) logger.warn(`${where(row)}${row.key}: failed: ${res.reason}`);
        noteFinal(res);
        return tick();
      }
      if (res.kind === 'run-fatal') {
        // Outcome unknown or credentials wrong: the row stays pending for the next run.
        await record({ ...base, status: 'pending' }, attempt, row.run_id);
        stopWith('abort', `${res.reason}${res.subCode ? ` [${res.subCode}]` : ''}`);
        return;
      }
      // transient
      if (res.slowDown) limiter.slowDown(sentAt);
      if (startedHere >= maxAttempts) {
        await record({ ...base, status: 'failed', retryable: true, keepPayload: keepFailedPayload, reason: `gave up after ${startedHere} attempts: ${res.reason}` }, attempt, row.run_id);
        failed++;
        done++;
        if (failed <= SHOW_FIRST) logger.warn(`${where(row)}${row.key}: gave up after ${startedHere} attempts: ${res.reason}`);
        if (++giveUps >= giveUpStreak) {
          stopWith('abort', `the gateway failed ${giveUps} rows in a row after ${maxAttempts} attempts each (last: ${res.reason}); is it reachable?`);
        }
        return tick();
      }
      ledger.recordAttempt(attempt);
      state.retries++;
      await sleep(backoffDelay(startedHere, backoffMs), halt.signal);
    }
  };

  const limit = pLimit(concurrency);
  const running = new Set<Promise<void>>();
  let cursor = 0;
  try {
    claim: while (!state.stop) {
      const rows = ledger.claimPending(dataset.name, cursor, CLAIM_BATCH);
      if (rows.length === 0) break;
      for (const row of rows) {
        cursor = row.rowid;
        // Keep a bounded window of claimed rows: memory stays flat however many are pending.
        while (running.size >= concurrency * 2 && !state.stop) await Promise.race(running);
        if (state.stop) break claim;
        const p: Promise<void> = limit(() => sendOne(row)).then(
          () => void running.delete(p),
          (err: unknown) => {
            running.delete(p);
            // Not the gateway's doing: the ledger could not be written (disk full, a lost device), or a bug. The
            // requests in flight settle; then the run ends with that error (exit 2 or 70), not as a gateway abort.
            stopWith('error', (err as Error).message, err);
          },
        );
        running.add(p);
      }
    }
    await Promise.all(running);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    progress.stop();
  }
  if (failed > SHOW_FIRST) logger.warn(`${formatCount(failed)} rows failed in all; see alipay-sync status for them grouped by sub_code`);
  if (limiter.slowDowns) logger.info(`the gateway asked to slow down ${limiter.slowDowns} time(s); the rate ended at ${limiter.currentRate === Infinity ? 'no ceiling' : limiter.currentRate.toFixed(1) + '/s'}`);
  return state;
}

function where(row: PendingRecord): string {
  return row.file ? `${row.file}:${row.line}: ` : '';
}

/** Answer fields worth keeping beside the row (everything but the envelope). */
function resultOf(res: Outcome): string | undefined {
  if (!res.fields) return undefined;
  // logins (a user's at the merchant, or at Alipay) are personal data: never kept
  const { code: _c, msg: _m, sub_code: _s, sub_msg: _sm, external_logon_id: _e, alipay_logon_id: _l, ...rest } = res.fields;
  return Object.keys(rest).length ? JSON.stringify(rest) : undefined;
}
