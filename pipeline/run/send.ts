import type { AttemptRecord, ResultRecord } from '../../state/ledger.js';
import type { AnyLedger } from '../../state/open-ledger.js';
import { FailureStreak, type Outcome } from '../alipay/classify.js';
import { retryPolicy, type RetryPolicy } from '../alipay/retry.js';
import { formatRate } from '../format.js';
import { Progress, formatCount } from '../progress.js';
import { sleep } from '../rate-limit.js';
import { describeReset, describeWait, nextQuotaReset } from '../rate/daily.js';
import { attempter, type AttemptEnd } from './attempt.js';
import { Lanes, type Lane, type LaneStop } from './lanes.js';
import type { MerchantBook } from './merchants.js';
import type { RunObserver } from './observe.js';
import { SHOW_FIRST, type UploadOptions } from './types.js';

/**
 * Sending: the pending rows of every merchant, in fair turns (lanes.ts), each under its merchant's rate and the
 * global ceiling and the concurrency cap, its answer judged and acted on (attempt.ts), its outcome written with
 * its attempt by group commit. Ctrl-C, a run failure or a ledger error stop taking rows; a refused token stops
 * its merchant; a spent daily quota pauses its merchant, and stops the run (exit 4) when nothing else is left,
 * or waits for the reset with --wait-for-quota. The requests in flight settle and are recorded.
 */
export interface SendState {
  retries: number;
  /** outcomes of rows staged by earlier runs that this run sent (counted as they happen: a query would scan the table) */
  carried: { uploaded: number; failed: number; pending: number };
  stop: { kind: 'abort' | 'interrupt' | 'error' | 'quota'; reason: string; code?: string; subCode?: string; error?: unknown } | null;
  /** the rows this run sent that got an answer (its own and earlier runs'), and how long sending took */
  sent: { uploaded: number; failed: number; ms: number };
  /** what became of each merchant's turn (for the summary) */
  merchants: MerchantReport[];
  /** when the daily quota resets, if it stopped the run (ms, wall clock) */
  quotaResetsAt?: number;
}

export interface MerchantReport {
  merchant: string;
  label: string;
  firstSeen?: string;
  stopped?: LaneStop;
  /** the daily quota is spent until then (ms, wall clock) */
  spentUntil?: number;
  /** rows earlier runs left pending that could not be sent (no token for them in this run) */
  notSent?: number;
  rates: { method: string; rate: number; quota: number | null; throttled: number }[];
}

const clock = () => performance.now();
/** how often what the rates learned is saved while sending (a kill -9 loses at most this much) */
const SAVE_EVERY_MS = 60_000;
/** Several writers: how often a run with nothing to claim looks again for rows coming back (or staged meanwhile). */
const WAIT_POLL_MS = 500;

export async function sendPending(o: UploadOptions, ledger: AnyLedger, runId: number, watch: Required<RunObserver>, merchants: MerchantBook): Promise<SendState> {
  const { dataset, logger } = o;
  const wall = o.clock ?? Date.now;
  const wait = o.sleep ?? sleep;
  const concurrency = o.concurrency ?? 8;
  // When to try a row again and how long to wait: the retry policy's data, with this run's settings.
  const retry: RetryPolicy = { ...retryPolicy, maxAttempts: o.maxAttempts ?? retryPolicy.maxAttempts, backoffBaseMs: o.backoffMs ?? retryPolicy.backoffBaseMs };
  const giveUpStreak = o.giveUpStreak ?? Math.max(10, concurrency * 2);
  const lanes = await Lanes.create({
    ledger, dataset: dataset.name, method: dataset.method, appId: o.target.appId, merchants, ceiling: o.qps ?? 0, concurrency, wallNow: wall(),
    ...(o.rateParams ? { params: o.rateParams } : {}),
  });
  const state: SendState = { retries: 0, stop: null, carried: { uploaded: 0, failed: 0, pending: 0 }, sent: { uploaded: 0, failed: 0, ms: 0 }, merchants: [] };
  // Aborts every wait (rate slot, backoff, quota) but never a request in flight: those settle and are recorded.
  const halt = new AbortController();
  const stopWith = (kind: 'abort' | 'interrupt' | 'error' | 'quota', reason: string, more: { code?: string; subCode?: string; error?: unknown } = {}) => {
    if (state.stop) return;
    state.stop = { kind, reason, ...more };
    halt.abort();
    if (kind === 'abort' || kind === 'error') logger.error(`stopping the run: ${reason}`);
    else if (kind === 'quota') logger.warn(`stopping the run: ${reason}`);
    else logger.warn('interrupted: finishing the requests in flight, then stopping (Ctrl-C again to quit at once; unsent rows stay pending)');
  };
  const onAbort = () => stopWith('interrupt', 'interrupted');
  if (o.signal?.aborted) onAbort();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  // Group commit: outcomes that arrive in the same turn of the event loop are written in one transaction. A row
  // keeps its concurrency slot until its outcome is committed, so the rows sent but not recorded never number
  // more than --concurrency (what a kill -9 can make us send twice).
  let queued: { result: ResultRecord; attempt?: AttemptRecord | undefined; done: () => void; fail: (e: unknown) => void }[] = [];
  const flush = async () => {
    const batch = queued;
    queued = [];
    try {
      await ledger.recordResults(batch);
      for (const b of batch) b.done();
    } catch (err) {
      for (const b of batch) b.fail(err);
    }
  };
  const record = (result: ResultRecord, attempt: AttemptRecord | undefined, stagedBy: number) =>
    new Promise<void>((done, fail) => {
      if (stagedBy !== runId) state.carried[result.status]++;
      if (queued.length === 0) setImmediate(() => void flush());
      queued.push({ result, attempt, done, fail });
    });

  const total = await ledger.countPending(dataset.name);
  let done = 0;
  let failed = 0;
  let giveUps = 0;
  const progress = new Progress({
    stream: o.progressStream ?? process.stderr, label: `sending ${dataset.name}`, total,
    intervalMs: o.progressIntervalMs, enabled: Boolean(o.progressStream) && total > 0,
  });
  let inFlight = 0;
  watch.sending({ rate: () => lanes.currentRate(), inFlight: () => inFlight }, total);
  const extra = () => {
    const parts = [`${formatCount(failed)} failed`, `${formatCount(state.retries)} retries`];
    if (lanes.anyMerchant) parts.push(`${lanes.lanes.length} merchants`);
    // the rate the gateway lets us have, once it has asked us to slow down
    if (lanes.throttled()) parts.push(`limit ${lanes.currentRate() === Infinity ? 'none' : formatRate(lanes.currentRate()) + '/s'}`);
    return parts;
  };
  progress.update(0, extra);

  // One row's content fails the row; the same sub_code on many rows in a row is probably configuration.
  const streak = new FailureStreak(o.failureStreak ?? 20);
  const noteFinal = (res: Outcome) => {
    const stop = streak.note(res);
    if (stop) stopWith('abort', stop, { code: res.code, ...(res.subCode ? { subCode: res.subCode } : {}) });
  };
  const codes = (res: Outcome) => ({ code: res.code, ...(res.subCode ? { subCode: res.subCode } : {}) });
  const attempt = attempter({
    o, ledger, runId, lanes, retry, halt: halt.signal, record, watch,
    inFlight: (d) => void (inFlight += d),
  });

  /** What one attempt means for its merchant and for the run. */
  const settle = (lane: Lane, end: AttemptEnd, where: string) => {
    switch (end.kind) {
      case 'uploaded':
        giveUps = 0;
        noteFinal(end.outcome);
        done++;
        break;
      case 'failed':
        failed++;
        done++;
        // done (answered: uploaded or failed) before the warning, which draws the bar again under it
        progress.update(done);
        if (failed <= SHOW_FIRST) logger.warn(`${where}${end.giveUp ? '' : 'failed: '}${end.reason}`);
        if (!end.giveUp) noteFinal(end.outcome);
        else if (++giveUps >= giveUpStreak) {
          stopWith('abort', `the gateway failed ${giveUps} rows in a row after ${retry.maxAttempts} attempts each (last: ${end.outcome.reason}); is it reachable?`, { code: end.outcome.code });
        }
        break;
      case 'retry':
        state.retries++;
        break;
      case 'stop-run':
        stopWith('abort', `${end.outcome.reason}${end.outcome.subCode ? ` [${end.outcome.subCode}]` : ''}`, codes(end.outcome));
        break;
      case 'stop-merchant':
        if (lane.stopped) break;
        lane.stopped = {
          code: end.outcome.code, subCode: end.outcome.subCode,
          reason: `${end.outcome.subCode ?? end.outcome.code}: Alipay refused this merchant's app_auth_token (invalid, expired, or not granted ${dataset.method})${end.outcome.subMsg ? ` (${end.outcome.subMsg})` : ''}: get it renewed or re-granted, then run the same command again`,
        };
        logger.error(`merchant ${lane.label}${lanes.seen(lane)}: ${lane.stopped.reason}; its rows stay pending, the other merchants go on`);
        break;
      case 'quota-spent': {
        state.retries++;
        if (lane.spentUntil !== null) break;
        const until = nextQuotaReset(wall());
        lane.spentUntil = until;
        lane.spentReason = end.rate.daily ?? '';
        // (a ledger that cannot take it says so at the run's next write)
        void Promise.resolve()
          .then(() => ledger.saveQuotaStop({ ...end.rate.key, until: new Date(until).toISOString(), since: new Date(wall()).toISOString(), reason: lane.spentReason }))
          .catch((err: unknown) => logger.warn(`cannot keep the spent quota in the ledger: ${(err as Error).message}`));
        logger.warn(`${lane.merchant === '' ? 'the app' : `merchant ${lane.label}${lanes.seen(lane)}`}: the daily quota of ${end.rate.key.method} is spent (${lane.spentReason}); its rows wait for the reset at ${describeReset(until)}`);
        break;
      }
    }
    progress.update(done);
  };

  /** Wait `ms`, or less when an answer comes first (it may have put a row back that is due sooner). */
  const pause = async (ms: number, running: Set<Promise<void>>) => {
    const timer = new AbortController();
    const off = () => timer.abort();
    halt.signal.addEventListener('abort', off, { once: true });
    await Promise.race([sleep(ms, timer.signal), ...running]);
    timer.abort();
    halt.signal.removeEventListener('abort', off);
  };

  /** Every merchant left has its daily quota spent: stop (exit 4), or with --wait-for-quota sleep until the reset. */
  const quotaSpent = async (spent: Lane[]): Promise<boolean> => {
    const until = Math.min(...spent.map((l) => l.spentUntil!));
    const whose = spent.some((l) => l.merchant === '') ? 'the app' : `merchant${spent.length > 1 ? 's' : ''} ${spent.map((l) => l.label).join(', ')}`;
    if (!o.waitForQuota) {
      state.quotaResetsAt = until;
      stopWith('quota', `the daily quota of ${whose} is spent; it resets at ${describeReset(until)}: run the same command again after that (or with --wait-for-quota), the rows not sent stay pending`, { code: '40005' });
      return false;
    }
    await lanes.saveLearned(runId);
    while (!halt.signal.aborted && wall() < until) {
      logger.warn(`waiting for the daily quota of ${whose}: it resets at ${describeReset(until)}, in ${describeWait(until - wall())} (Ctrl-C to stop; the rows not sent stay pending)`);
      await wait(Math.min(until - wall(), 10 * 60_000), halt.signal);
    }
    if (halt.signal.aborted) return false;
    const back = await lanes.reopen(wall());
    logger.info(`the daily quota is back: sending for ${back.map((l) => l.label).join(', ')} again`);
    return true;
  };

  const running = new Set<Promise<void>>();
  let saved = clock();
  let noted = 0;
  try {
    for (;;) {
      if (state.stop) break;
      if (clock() - saved > SAVE_EVERY_MS) {
        await lanes.saveLearned(runId);
        saved = clock();
      }
      if (running.size >= concurrency) {
        await Promise.race(running);
        continue;
      }
      const pick = await lanes.pick(clock());
      while (noted < lanes.notes.length) logger.info(lanes.notes[noted++]!);
      if ('lane' in pick) {
        const { lane, turn } = pick;
        const where = `${turn.row.file ? `${turn.row.file}:${turn.row.line}: ` : ''}${turn.row.key}: `;
        lane.inFlight++;
        const p: Promise<void> = attempt(lane, turn, pick.slot).then(
          (end) => {
            lane.inFlight--;
            running.delete(p);
            settle(lane, end, where);
          },
          (err: unknown) => {
            lane.inFlight--;
            running.delete(p);
            // Not the gateway's doing: the ledger could not be written (disk full, a lost device), or a bug. The
            // requests in flight settle; then the run ends with that error (exit 2 or 70), not as a gateway abort.
            stopWith('error', (err as Error).message, { error: err });
          },
        );
        running.add(p);
        continue;
      }
      if ('waitUntil' in pick) {
        await pause(pick.waitUntil - clock(), running);
        continue;
      }
      if (running.size > 0) {
        await Promise.race(running);
        continue;
      }
      // Nothing ready and nothing in flight: done, unless daily quotas hold rows back.
      const spent = lanes.spent();
      if (spent.length > 0) {
        if (!(await quotaSpent(spent))) break;
        continue;
      }
      if (!ledger.shared) break;
      // Several writers: rows may still be in flight at others, leased by one that died (they come back when its
      // lease expires), or being staged: the run ends when nothing is pending and nobody stages.
      const left = await ledger.outstanding(dataset.name, runId);
      if (left.pending === 0 && left.staging === 0) break;
      await sleep(WAIT_POLL_MS, halt.signal);
      await lanes.refresh();
    }
    await Promise.all(running);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    state.sent = { uploaded: done - failed, failed, ms: progress.elapsedMs };
    progress.finish(state.stop ? 'stopped' : 'done');
    try {
      await lanes.saveLearned(runId);
      await lanes.clearRecovered();
    } catch (err) {
      logger.warn(`cannot keep the rates learned: ${(err as Error).message}`);
    }
  }
  // Every merchant's token refused: that is the run's credentials, as with one --app-auth-token.
  const refused = lanes.lanes.filter((l) => l.stopped && l.stopped.code !== 'NO_TOKEN');
  if (refused.length && lanes.lanes.every((l) => l.stopped)) {
    const s = refused[0]!.stopped!;
    stopWith('abort', `${s.reason}${s.subCode ? ` [${s.subCode}]` : ''}${lanes.lanes.length > 1 ? ' (every merchant\'s app_auth_token was refused)' : ''}`, { code: s.code, ...(s.subCode ? { subCode: s.subCode } : {}) });
  }
  if (failed > SHOW_FIRST) logger.warn(`${formatCount(failed)} rows failed in all; see alipay-sync status for them grouped by sub_code`);
  for (const lane of lanes.lanes) {
    if (lane.stopped?.code === 'NO_TOKEN') logger.warn(`merchant ${lane.label}: rows left pending by an earlier run were not sent: ${lane.stopped.reason}`);
    for (const r of lane.allRates()) {
      if (!r.throttled) continue;
      logger.info(`${lane.merchant === '' ? '' : `merchant ${lane.label}, `}${r.key.method}: the gateway asked to slow down ${r.throttled} time(s); the rate ended at ${r.rate === Infinity ? 'no ceiling' : r.rate.toFixed(1) + '/s'}${r.quota !== null ? ` (its quota measured at ${r.quota}/s)` : ''}`);
    }
  }
  state.merchants = lanes.lanes.map((lane) => ({
    merchant: lane.merchant, label: lane.label, ...(merchants.firstSeen(lane.merchant) ? { firstSeen: merchants.firstSeen(lane.merchant)! } : {}),
    ...(lane.stopped ? { stopped: lane.stopped } : {}), ...(lane.spentUntil !== null ? { spentUntil: lane.spentUntil } : {}),
    ...(lane.stopped?.code === 'NO_TOKEN' ? { notSent: lane.pendingAtStart } : {}),
    rates: lane.allRates().map((r) => ({ method: r.key.method, rate: r.rate, quota: r.quota, throttled: r.throttled })),
  }));
  return state;
}
