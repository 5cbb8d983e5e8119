import { agreementStatus } from '../../sources/agreement-query.js';
import type { AttemptRecord, Ledger, PendingRecord, ResultRecord } from '../../state/ledger.js';
import type { CallResult } from '../alipay/client.js';
import type { Outcome } from '../alipay/classify.js';
import { retryDelay, type RetryPolicy } from '../alipay/retry.js';
import { hasPersonalData, redactorFor } from '../redact.js';
import { sleep } from '../rate-limit.js';
import type { AdaptiveRate } from '../rate/adaptive.js';
import { dailyQuotaHint } from '../rate/daily.js';
import type { Lane, Lanes, Turn } from './lanes.js';
import type { RunObserver } from './observe.js';
import { rowAction } from './row-outcome.js';
import type { UploadOptions } from './types.js';

/**
 * One attempt of one row: paced by its merchant's rate and the global ceiling, sent with its merchant's token,
 * its answer fed to the rate controller, judged, and acted on (row-outcome.ts). What it means beyond the row is
 * returned for send.ts to act on: a refused token stops the merchant, a spent daily quota pauses it.
 */
export type AttemptEnd =
  | { kind: 'uploaded'; outcome: Outcome }
  | { kind: 'failed'; outcome: Outcome; giveUp: boolean; reason: string }
  | { kind: 'retry' }
  | { kind: 'stop-run'; outcome: Outcome }
  | { kind: 'stop-merchant'; outcome: Outcome }
  | { kind: 'quota-spent'; rate: AdaptiveRate };

export interface AttemptContext {
  o: UploadOptions;
  ledger: Ledger;
  runId: number;
  lanes: Lanes;
  retry: RetryPolicy;
  halt: AbortSignal;
  /** queue a result for the group commit; resolves when it is written */
  record(result: ResultRecord, attempt: AttemptRecord | undefined, stagedBy: number): Promise<void>;
  /** who watches the run (timing, metrics) */
  watch: Required<RunObserver>;
  /** requests in flight went up or down by this */
  inFlight(delta: number): void;
}

const clock = () => performance.now();

/** Wait until both the rate and the global ceiling allow a start, and take the slot in each. */
async function startWhenAllowed(rate: AdaptiveRate, lanes: Lanes, halt: AbortSignal): Promise<{ id: number; sentAt: number }> {
  for (;;) {
    const now = clock();
    const at = Math.max(rate.nextAt(now), lanes.global.nextAt(now));
    if (at <= now || halt.aborted) break;
    await sleep(at - now, halt);
  }
  const sentAt = clock();
  lanes.global.started(sentAt);
  return { id: rate.start(sentAt), sentAt };
}

/** How an answer counts for the quota: 40005 is Alipay's, HTTP 429 a proxy's; anything else got past them. */
function observe(rate: AdaptiveRate, id: number, sentAt: number, res: CallResult): void {
  const limited = res.code === '40005';
  rate.answer(id, {
    sentAt, now: clock(), answer: limited ? 'limited' : res.slowDown ? 'throttled' : 'ok',
    dailyHint: limited ? dailyQuotaHint(res.subCode, res.subMsg ?? res.msg) : null,
  });
}

export function attempter(c: AttemptContext) {
  const { o, ledger, runId, lanes, retry } = c;
  const { dataset, logger } = o;
  const client = o.client!;
  const redact = redactorFor(dataset);
  // A row with personal data keeps its request body in the ledger only while it is pending.
  const keepFailedBizContent = !hasPersonalData(dataset);

  /**
   * An answer that leaves the row's real state unclear (a sign.effect answered STATUS_ABNORMAL or
   * PERIOD_CONFILICT, e.g. after an earlier attempt that did take effect): read the state back with the
   * dataset's query before recording anything. The verdict is the read-back's, with the first answer named.
   */
  const readBack = async (lane: Lane, row: PendingRecord, first: CallResult): Promise<CallResult> => {
    const question = o.sink?.readBack?.(row);
    if (!question) return { ...first, kind: 'row-fatal' };
    const rate = lane.rate(question.method);
    const { id, sentAt } = await startWhenAllowed(rate, lanes, c.halt);
    const q = await client.call(question.method, question.bizContent, { policy: question.answers, appAuthToken: lane.token ?? null });
    observe(rate, id, sentAt, q);
    const was = `${first.subCode ?? first.code}`;
    if (q.kind === 'success' && q.fields) {
      const status = agreementStatus(q.fields);
      if (status === question.wanted) return { ...q, reason: `${was}, but ${question.method} confirms it ${status}` };
      return { ...q, kind: 'row-fatal', code: first.code, subCode: first.subCode, subMsg: first.subMsg, reason: `${first.reason}; ${question.method} shows it ${status ?? 'without a status'}` };
    }
    // The read-back itself went wrong: its own kind decides (transient: try the row again; run-fatal: stop).
    return { ...q, reason: `${first.reason}; reading its state back failed: ${q.reason}` };
  };

  /** Send `turn`'s row once (its slot was taken by Lanes.pick at `sentAt`) and act on the answer. */
  return async function attempt(lane: Lane, turn: Turn, slot: { id: number; sentAt: number }): Promise<AttemptEnd> {
    const { row } = turn;
    const rate = lane.rate(dataset.method);
    turn.attempts++;
    const startedAt = Date.now();
    c.watch.requestStarted();
    c.inFlight(1);
    let res: CallResult;
    try {
      res = await client.call(dataset.method, row.biz_content, { policy: dataset.answers, notifyUrl: o.notifyUrl, appAuthToken: lane.token ?? null });
      observe(rate, slot.id, slot.sentAt, res);
      if (res.kind === 'reconcile') res = await readBack(lane, row, res);
    } finally {
      c.inFlight(-1);
    }
    res.reason = redact(res.reason, row.biz_content) ?? '';
    res.subMsg = redact(res.subMsg, row.biz_content);
    c.watch.answered({ startedAt, durationMs: res.durationMs, kind: res.kind, code: res.code, subCode: res.subCode, slowDown: Boolean(res.slowDown), key: row.key, attempt: turn.attempts });
    const attempt: AttemptRecord = {
      runId, dataset: dataset.name, merchant: row.merchant, key: row.key, attempt: turn.attempts, kind: res.kind, code: res.code, subCode: res.subCode,
      durationMs: res.durationMs, traceId: res.traceId, snapshot: row.snapshot,
    };
    const base = { rowid: row.rowid, runId, attempts: turn.attempts, code: res.code, subCode: res.subCode, subMsg: res.subMsg, reason: res.reason, traceId: res.traceId };
    const done = (outcome: 'uploaded' | 'failed' | 'pending', reason?: string) =>
      c.watch.rowDone(outcome, { key: row.key, attempt: turn.attempts, ...(outcome === 'uploaded' ? {} : { code: res.code, subCode: res.subCode, reason: reason ?? res.reason }) });
    logger.debug(`${row.key}: attempt ${turn.attempts}: ${res.kind} ${res.code}${res.subCode ? ' ' + res.subCode : ''} (${res.durationMs} ms)`);

    // 20001: the merchant's token is invalid, expired or not granted this method. That merchant stops; the row
    // stays pending, as do its others.
    if (res.code === '20001' && lane.token !== undefined) {
      await c.record({ ...base, status: 'pending' }, attempt, row.run_id);
      done('pending');
      return { kind: 'stop-merchant', outcome: res };
    }
    // 40005: Alipay's quota says wait. Not the row's trouble, so not one of its --max-attempts: it goes back to
    // its merchant's turn, which the controller has slowed (or paused: the day's quota is spent).
    if (res.code === '40005') {
      ledger.recordAttempt(attempt);
      lane.retryLater({ ...turn, notBefore: clock() });
      return rate.daily ? { kind: 'quota-spent', rate } : { kind: 'retry' };
    }
    turn.here++;
    const action = rowAction({ kind: res.kind, attemptsHere: turn.here, policy: retry, keepRetryableBizContent: keepFailedBizContent });
    if (action.kind === 'uploaded') {
      // A sink keeps what it returns (made free of personal data); other datasets keep the answer's fields.
      const result = o.sink ? (res.fields ? await o.sink.success({ ledger, runId, row, fields: res.fields }) : undefined) : resultOf(res);
      // The attempts table is the history of trouble: a first-try success is told by the record itself.
      await c.record({ ...base, status: 'uploaded', result }, turn.attempts > 1 ? attempt : undefined, row.run_id);
      done('uploaded');
      return { kind: 'uploaded', outcome: res };
    }
    if (action.kind === 'pending') {
      // Outcome unknown or credentials wrong: the row stays pending for the next run.
      await c.record({ ...base, status: 'pending' }, attempt, row.run_id);
      done('pending');
      return { kind: 'stop-run', outcome: res };
    }
    if (action.kind === 'failed') {
      const reason = action.giveUp ? `gave up after ${turn.here} attempts: ${res.reason}` : res.reason;
      await c.record({ ...base, status: 'failed', retryable: action.retryable, keepBizContent: action.keepBizContent, reason, ...(action.giveUp ? {} : { result: resultOf(res) }) }, attempt, row.run_id);
      done('failed', reason);
      return { kind: 'failed', outcome: res, giveUp: action.giveUp, reason };
    }
    ledger.recordAttempt(attempt);
    lane.retryLater({ ...turn, notBefore: clock() + retryDelay(turn.here, retry) });
    return { kind: 'retry' };
  };
}

/** Answer fields worth keeping beside the row (everything but the envelope). */
function resultOf(res: Outcome): string | undefined {
  if (!res.fields) return undefined;
  // logins (a user's at the merchant, or at Alipay) are personal data: never kept
  const { code: _c, msg: _m, sub_code: _s, sub_msg: _sm, external_logon_id: _e, alipay_logon_id: _l, ...rest } = res.fields;
  return Object.keys(rest).length ? JSON.stringify(rest) : undefined;
}
