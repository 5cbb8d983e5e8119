import pLimit from 'p-limit';
import { agreementStatus } from '../../sources/agreement-query.js';
import type { AttemptRecord, Ledger, PendingRecord, ResultRecord } from '../../state/ledger.js';
import type { CallResult } from '../alipay/client.js';
import { FailureStreak, type Outcome } from '../alipay/classify.js';
import { formatRate } from '../format.js';
import { Progress, formatCount } from '../progress.js';
import { RateLimiter, sleep } from '../rate-limit.js';
import { retryDelay, retryPolicy, type RetryPolicy } from '../alipay/retry.js';
import { hasPersonalData, redactorFor } from '../redact.js';
import type { RunObserver } from './observe.js';
import { rowAction } from './row-outcome.js';
import { CLAIM_BATCH, SHOW_FIRST, type UploadOptions } from './types.js';

/**
 * Sending: pending rows claimed in order in a bounded window, each sent under the rate limit and the
 * concurrency cap, its answer judged (alipay/classify.ts) and acted on (row-outcome.ts), its outcome written
 * with its attempt by group commit. Ctrl-C, a run failure or a ledger error stop taking rows; the requests in
 * flight settle and are recorded.
 */
export interface SendState {
  retries: number;
  /** outcomes of rows staged by earlier runs that this run sent (counted as they happen: a query would scan the table) */
  carried: { uploaded: number; failed: number; pending: number };
  /** the rows this run sent that got an answer (its own and earlier runs'), and how long sending took */
  sent: { uploaded: number; failed: number; ms: number };
  stop: { kind: 'abort' | 'interrupt' | 'error'; reason: string; code?: string; subCode?: string; error?: unknown } | null;
}

export async function sendPending(o: UploadOptions, ledger: Ledger, runId: number, watch: Required<RunObserver>): Promise<SendState> {
  const { dataset, logger } = o;
  const client = o.client!;
  const policy = dataset.answers;
  const redact = redactorFor(dataset);
  // A row with personal data keeps its request body in the ledger only while it is pending.
  const keepFailedBizContent = !hasPersonalData(dataset);
  const concurrency = o.concurrency ?? 8;
  // When to try a row again and how long to wait: the retry policy's data, with this run's settings.
  const retry: RetryPolicy = { ...retryPolicy, maxAttempts: o.maxAttempts ?? retryPolicy.maxAttempts, backoffBaseMs: o.backoffMs ?? retryPolicy.backoffBaseMs };
  const maxAttempts = retry.maxAttempts;
  const giveUpStreak = o.giveUpStreak ?? Math.max(10, concurrency * 2);
  const limiter = new RateLimiter({ qps: o.qps ?? 0 });
  const state: SendState = { retries: 0, stop: null, carried: { uploaded: 0, failed: 0, pending: 0 }, sent: { uploaded: 0, failed: 0, ms: 0 } };
  // Aborts every wait (rate slot, backoff) but never a request in flight: those settle and are recorded.
  const halt = new AbortController();
  const stopWith = (kind: 'abort' | 'interrupt' | 'error', reason: string, more: { code?: string; subCode?: string; error?: unknown } = {}) => {
    if (state.stop) return;
    state.stop = { kind, reason, ...more };
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
  let inFlight = 0;
  const clock = o.clock ?? Date.now;
  watch.sending({ rate: () => limiter.currentRate, inFlight: () => inFlight }, total);
  const progress = new Progress({
    stream: o.progressStream ?? process.stderr, label: `sending ${dataset.name}`, total,
    intervalMs: o.progressIntervalMs, enabled: Boolean(o.progressStream) && total > 0,
  });
  const extra = () => {
    const parts = [`${formatCount(failed)} failed`, `${formatCount(state.retries)} retries`];
    // the rate the gateway lets us have, once it has asked us to slow down
    if (limiter.slowDowns) parts.push(`limit ${limiter.currentRate === Infinity ? 'none' : formatRate(limiter.currentRate) + '/s'}`);
    return parts;
  };
  progress.update(0, extra);
  const tick = () => progress.update(done);

  // One row's content fails the row; the same sub_code on many rows in a row is probably configuration.
  const streak = new FailureStreak(o.failureStreak ?? 20);
  const noteFinal = (res: Outcome) => {
    const stop = streak.note(res);
    if (stop) stopWith('abort', stop, { code: res.code, ...(res.subCode ? { subCode: res.subCode } : {}) });
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
      const startedAt = clock();
      inFlight++;
      watch.requestStarted();
      let res: CallResult;
      try {
        res = await client.call(dataset.method, row.biz_content, { policy, notifyUrl: o.notifyUrl });
        if (res.kind === 'reconcile') res = await readBack(row, res);
      } finally {
        inFlight--;
      }
      res.reason = redact(res.reason, row.biz_content) ?? '';
      res.subMsg = redact(res.subMsg, row.biz_content);
      watch.answered({ startedAt, durationMs: res.durationMs, kind: res.kind, code: res.code, subCode: res.subCode, slowDown: Boolean(res.slowDown), key: row.key, attempt: attempts });
      const attempt = {
        runId, dataset: dataset.name, key: row.key, attempt: attempts, kind: res.kind, code: res.code, subCode: res.subCode, durationMs: res.durationMs,
        traceId: res.traceId, snapshot: row.snapshot,
      };
      const base = { rowid: row.rowid, runId, attempts, code: res.code, subCode: res.subCode, subMsg: res.subMsg, reason: res.reason, traceId: res.traceId };
      logger.debug(`${row.key}: attempt ${attempts}: ${res.kind} ${res.code}${res.subCode ? ' ' + res.subCode : ''} (${res.durationMs} ms)`);
      const action = rowAction({ kind: res.kind, attemptsHere: startedHere, policy: retry, keepRetryableBizContent: keepFailedBizContent });
      if (action.kind === 'uploaded') {
        // A sink keeps what it returns (made free of personal data); other datasets keep the answer's fields.
        const result = o.sink ? (res.fields ? await o.sink.success({ ledger, runId, row, fields: res.fields }) : undefined) : resultOf(res);
        // The attempts table is the history of trouble: a first-try success is told by the record itself.
        await record({ ...base, status: 'uploaded', result }, attempts > 1 ? attempt : undefined, row.run_id);
        watch.rowDone('uploaded', { key: row.key, attempt: attempts });
        giveUps = 0;
        noteFinal(res);
        done++;
        return tick();
      }
      if (action.kind === 'pending') {
        // Outcome unknown or credentials wrong: the row stays pending for the next run.
        await record({ ...base, status: 'pending' }, attempt, row.run_id);
        watch.rowDone('pending', { key: row.key, attempt: attempts, code: res.code, subCode: res.subCode, reason: res.reason });
        stopWith('abort', `${res.reason}${res.subCode ? ` [${res.subCode}]` : ''}`, { code: res.code, ...(res.subCode ? { subCode: res.subCode } : {}) });
        return;
      }
      if (res.slowDown) limiter.slowDown(sentAt);
      if (action.kind === 'failed') {
        const reason = action.giveUp ? `gave up after ${startedHere} attempts: ${res.reason}` : res.reason;
        await record({ ...base, status: 'failed', retryable: action.retryable, keepBizContent: action.keepBizContent, reason, ...(action.giveUp ? {} : { result: resultOf(res) }) }, attempt, row.run_id);
        watch.rowDone('failed', { key: row.key, attempt: attempts, code: res.code, subCode: res.subCode, reason });
        failed++;
        done++;
        // done (answered: uploaded or failed) before the warning, which draws the bar again under it
        tick();
        if (failed <= SHOW_FIRST) logger.warn(`${where(row)}${row.key}: ${action.giveUp ? '' : 'failed: '}${reason}`);
        if (!action.giveUp) noteFinal(res);
        else if (++giveUps >= giveUpStreak) {
          stopWith('abort', `the gateway failed ${giveUps} rows in a row after ${maxAttempts} attempts each (last: ${res.reason}); is it reachable?`, { code: res.code });
        }
        return;
      }
      ledger.recordAttempt(attempt);
      state.retries++;
      await sleep(retryDelay(startedHere, retry), halt.signal);
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
            stopWith('error', (err as Error).message, { error: err });
          },
        );
        running.add(p);
      }
    }
    await Promise.all(running);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    state.sent = { uploaded: done - failed, failed, ms: progress.elapsedMs };
    progress.finish(state.stop ? 'stopped' : 'done');
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
