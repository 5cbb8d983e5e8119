import pLimit from 'p-limit';
import type { Dataset } from '../sources/dataset.js';
import { readCsvBatches, readCsvHeader, type Encoding } from '../sources/csv.js';
import { Ledger, type AttemptRecord, type PendingRecord, type RejectRecord, type ResultRecord } from '../state/ledger.js';
import { BackgroundStager } from '../state/stage-worker.js';
import type { AlipayClient } from './alipay/client.js';
import type { Outcome } from './alipay/classify.js';
import { policyFor } from './alipay/methods.js';
import { SyncError } from './errors.js';
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
  encoding?: Encoding;
  dryRun?: boolean;
  rejectsPath?: string;
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

/** The whole job for one dataset: check headers, stage every row into the ledger, send what is pending, report. */
export async function runUpload(o: UploadOptions): Promise<UploadResult> {
  const clock = o.clock ?? Date.now;
  const started = clock();
  const { dataset, logger } = o;
  const encoding = o.encoding ?? 'utf8';

  // 1. Every header, before the ledger is touched: a missing column stops the run with nothing sent.
  for (const file of o.files) {
    const columns = await readCsvHeader(file, { encoding });
    const { missing, unknown } = dataset.checkHeader(columns);
    if (missing.length) {
      throw new SyncError('SYNC_SOURCE_HEADER', `${file}: missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (found: ${columns.join(', ')})`, { file, line: 1 });
    }
    if (unknown.length) logger.warn(`${file}: ignoring unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  }
  if (!o.dryRun && !o.client) throw new SyncError('SYNC_CONFIG_INVALID', 'no gateway client configured');

  const ledger = new Ledger(o.ledgerPath);
  let rejectsFile: RejectsFile | null = null;
  let sinkOpen = Boolean(o.sink);
  try {
    const { tookOverFrom } = ledger.acquireLock();
    if (tookOverFrom !== null) logger.info(`taking over the ledger from an earlier run (pid ${tookOverFrom}) that did not finish; its unsent rows will be sent`);
    const runId = ledger.startRun(dataset.name, o.command ?? `upload ${dataset.name}`, o.files, Boolean(o.dryRun));
    if (o.rejectsPath) rejectsFile = new RejectsFile(o.rejectsPath, dataset.fields.map((f) => f.name));

    const staged = await stageAll(o, ledger, runId, rejectsFile, encoding);
    const validRead = staged.read - staged.rejected;

    if (o.dryRun) {
      const plan = staged.plan ?? { new: 0, changed: 0 };
      const toSend = plan.new + plan.changed;
      const summary: UploadSummary = {
        run_id: runId, dataset: dataset.name, read: staged.read, rejected: staged.rejected,
        superseded: validRead - staged.unchanged - toSend, skipped: staged.unchanged,
        uploaded: 0, failed: 0, pending: toSend, duration_ms: clock() - started, status: 'dry-run', dry_run: true, plan,
        carried_over: { uploaded: 0, failed: 0, pending: ledger.countPending(dataset.name) }, retries: 0,
      };
      const exitCode = staged.interrupted ? 130 : staged.rejected > 0 ? 1 : 0;
      ledger.finishRun(runId, staged.interrupted ? 'interrupted' : 'dry-run', exitCode, { ...summary });
      return { summary, exitCode };
    }

    let sendState: SendState = { retries: 0, stop: null, carried: { uploaded: 0, failed: 0, pending: 0 } };
    if (!staged.interrupted) {
      const revived = ledger.reviveRetryable(dataset.name);
      if (revived) logger.info(`retrying ${formatCount(revived)} row(s) that earlier runs gave up on because of gateway trouble`);
      sendState = await sendPending(o, ledger, runId);
    }

    sinkOpen = false;
    await o.sink?.close(!staged.interrupted && !sendState.stop);
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
      carried_over: carried, retries: sendState.retries,
    };
    if (aborted) summary.abort_reason = sendState.stop!.reason;
    const exitCode = interrupted ? 130 : aborted ? 3
      : summary.rejected + summary.failed + summary.pending + carried.failed + carried.pending > 0 ? 1 : 0;
    ledger.finishRun(runId, summary.status, exitCode, { ...summary }, summary.abort_reason);
    return { summary, exitCode };
  } finally {
    if (sinkOpen) await o.sink!.close(false).catch((err: unknown) => logger.error(`cannot finish the export: ${(err as Error).message}`));
    await rejectsFile?.close().catch((err: unknown) => logger.error(`cannot write ${o.rejectsPath}: ${(err as Error).message}`));
    ledger.releaseLock();
    ledger.close();
  }
}

interface StageTotals {
  read: number;
  rejected: number;
  unchanged: number;
  interrupted: boolean;
  /** dry run: what would be sent */
  plan: { new: number; changed: number } | null;
}

async function stageAll(o: UploadOptions, ledger: Ledger, runId: number, rejectsFile: RejectsFile | null, encoding: Encoding): Promise<StageTotals> {
  const { dataset, logger } = o;
  const totals: StageTotals = { read: 0, rejected: 0, unchanged: 0, interrupted: false, plan: null };
  const progress = new Progress({
    stream: o.progressStream ?? process.stderr, label: `${o.dryRun ? 'checking' : 'staging'} ${dataset.name}`,
    intervalMs: o.progressIntervalMs, enabled: Boolean(o.progressStream),
  });
  // The ledger's upserts run on a worker thread (its own connection) while this thread reads and validates.
  const stager = new BackgroundStager({
    ledgerPath: o.ledgerPath, runId, dataset: dataset.name, policy: dataset.sendPolicy ?? 'snapshot', dryRun: Boolean(o.dryRun),
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
      for await (const recs of readCsvBatches(file, { encoding })) for (const rec of recs) {
        totals.read++;
        if ('error' in rec) {
          await reject(file, rec.line, '', rec.error, null);
        } else {
          const v = dataset.validate(rec.cells);
          if (v.ok) {
            // A key that may hold personal data is stored as a keyed hash (the ledger's secret), never in clear.
            keys.push(dataset.personalKey ? `h:${ledger.hash(v.row.key)}` : v.row.key);
            snapshots.push(v.row.snapshot);
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
  stop: { kind: 'abort' | 'interrupt'; reason: string } | null;
}

async function sendPending(o: UploadOptions, ledger: Ledger, runId: number): Promise<SendState> {
  const { dataset, logger } = o;
  const client = o.client!;
  const policy = policyFor(dataset.method);
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
  const stopWith = (kind: 'abort' | 'interrupt', reason: string) => {
    if (state.stop) return;
    state.stop = { kind, reason };
    halt.abort();
    if (kind === 'abort') logger.error(`stopping the run: ${reason}`);
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
      const res = await client.call(dataset.method, row.payload, { policy, notifyUrl: o.notifyUrl });
      res.reason = redact(res.reason, row.payload) ?? '';
      res.subMsg = redact(res.subMsg, row.payload);
      const attempt = { runId, dataset: dataset.name, key: row.key, attempt: attempts, kind: res.kind, code: res.code, subCode: res.subCode, durationMs: res.durationMs };
      const base = { rowid: row.rowid, runId, attempts, code: res.code, subCode: res.subCode, subMsg: res.subMsg, reason: res.reason };
      logger.debug(`${row.key}: attempt ${attempts}: ${res.kind} ${res.code}${res.subCode ? ' ' + res.subCode : ''} (${res.durationMs} ms)`);
      if (res.kind === 'success') {
        if (o.sink && res.fields) await o.sink.success({ ledger, runId, row, fields: res.fields });
        // The attempts table is the history of trouble: a first-try success is told by the record itself.
        await record({ ...base, status: 'uploaded', result: resultOf(res) }, attempts > 1 ? attempt : undefined, row.run_id);
        giveUps = 0;
        done++;
        return tick();
      }
      if (res.kind === 'row-fatal') {
        await record({ ...base, status: 'failed', retryable: false, keepPayload: false, result: resultOf(res) }, attempt, row.run_id);
        failed++;
        done++;
        if (failed <= SHOW_FIRST) logger.warn(`${where(row)}${row.key}: failed: ${res.reason}`);
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
            stopWith('abort', `internal error: ${(err as Error).message}`);
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
  const { code: _c, msg: _m, sub_code: _s, sub_msg: _sm, ...rest } = res.fields;
  return Object.keys(rest).length ? JSON.stringify(rest) : undefined;
}
