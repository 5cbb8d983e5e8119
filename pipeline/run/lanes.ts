import type { LearnedRate, Ledger, PendingRecord, QuotaStop } from '../../state/ledger.js';
import { Pacer } from '../rate-limit.js';
import { AdaptiveRate } from '../rate/adaptive.js';
import { DEFAULT_PARAMS, type ControlParams } from '../rate/controller.js';
import { merchantLabel, type MerchantBook } from './merchants.js';

/**
 * Fair turns between merchants. Each merchant with rows to send has a lane: its own cursor over its pending
 * rows, its rows waiting for another attempt, and its own rate per method (AdaptiveRate: what Alipay allows this
 * app for this merchant and method). The next row is taken round-robin from the lanes whose rate allows a start
 * now, under the global ceiling (--qps): a merchant with a million rows cannot starve one with ten, and a
 * merchant being throttled (or whose token was refused, or whose daily quota is spent) does not hold up the others.
 */

/** A row to send, with its attempts: in all, and in this run (what --max-attempts counts). */
export interface Turn {
  row: PendingRecord;
  attempts: number;
  here: number;
  /** not before this time (a backoff) */
  notBefore: number;
}

/** Why a lane sends nothing more this run. */
export interface LaneStop {
  code: string;
  subCode?: string | undefined;
  reason: string;
}

export class Lane {
  cursor = 0;
  readonly queue: Turn[] = [];
  /** rows waiting for another attempt, the soonest first */
  readonly retries: Turn[] = [];
  exhausted = false;
  inFlight = 0;
  stopped: LaneStop | null = null;
  /** its pending rows when sending began */
  pendingAtStart = 0;
  /** the daily quota is spent until then (wall clock, ms) */
  spentUntil: number | null = null;
  spentReason = '';
  private readonly rates = new Map<string, AdaptiveRate>();

  constructor(
    readonly merchant: string,
    /** undefined for a merchant met in no file of this run (rows an earlier run left pending) */
    readonly token: string | undefined,
    private readonly makeRate: (merchant: string, method: string) => AdaptiveRate,
  ) {}

  get label(): string {
    return merchantLabel(this.merchant);
  }

  rate(method: string): AdaptiveRate {
    let r = this.rates.get(method);
    if (!r) this.rates.set(method, (r = this.makeRate(this.merchant, method)));
    return r;
  }

  allRates(): AdaptiveRate[] {
    return [...this.rates.values()];
  }

  /** Rows left to send (queued, waiting, or not claimed yet). */
  get hasWork(): boolean {
    return this.queue.length > 0 || this.retries.length > 0 || !this.exhausted;
  }

  retryLater(t: Turn): void {
    let i = this.retries.length;
    while (i > 0 && this.retries[i - 1]!.notBefore > t.notBefore) i--;
    this.retries.splice(i, 0, t);
  }
}

/** A row to send now, its slot in its rate and in the global ceiling taken; or when to look again; or nothing. */
export type Pick = { lane: Lane; turn: Turn; slot: { id: number; sentAt: number } } | { waitUntil: number } | { idle: true };

export interface LanesOptions {
  ledger: Ledger;
  dataset: string;
  method: string;
  appId: string;
  merchants: MerchantBook;
  ceiling: number;
  concurrency: number;
  /** wall clock (quota resets) */
  wallNow: number;
  params?: Partial<ControlParams>;
}

export class Lanes {
  readonly lanes: Lane[] = [];
  /** the global ceiling, --qps */
  readonly global: Pacer;
  private next = 0;
  private readonly claimBatch: number;
  /** a note for each rate that starts from what an earlier run learned */
  readonly notes: string[] = [];
  private readonly learned: Map<string, LearnedRate>;
  private readonly stops: Map<string, QuotaStop>;

  constructor(private readonly o: LanesOptions) {
    this.global = new Pacer({ rate: o.ceiling });
    const key = (merchant: string, method: string) => `${merchant}\u0000${method}`;
    this.learned = new Map(o.ledger.learnedRates(o.appId).map((r) => [key(r.merchant, r.method), r]));
    this.stops = new Map();
    for (const s of o.ledger.quotaStops(o.appId)) {
      if (Date.parse(s.until) > o.wallNow) this.stops.set(key(s.merchant, s.method), s);
      else o.ledger.clearQuotaStop(s); // its reset passed
    }
    const params: ControlParams = { ...DEFAULT_PARAMS, ...o.params, ceiling: o.ceiling > 0 ? o.ceiling : Infinity };
    const make = (merchant: string, method: string) => {
      const k = key(merchant, method);
      const r = new AdaptiveRate({ appId: o.appId, merchant, method }, params, performance.now(), this.learned.get(k), this.stops.has(k));
      if (r.startedFrom) {
        this.notes.push(`${merchant === '' ? '' : `merchant ${merchantLabel(merchant)}, `}${method}: starting at ${r.rate.toFixed(1)}/s, as an earlier run learned${r.startedFrom.quota !== null ? ` (its quota measured at ${r.startedFrom.quota}/s)` : ''}`);
      }
      if (this.stops.has(k)) this.notes.push(`${merchant === '' ? 'the app' : `merchant ${merchantLabel(merchant)}`}, ${method}: its daily quota was found spent until ${this.stops.get(k)!.until}; asking once whether it is back`);
      return r;
    };
    const pending = o.ledger.pendingByMerchant(o.dataset);
    // Rows are claimed a few at a time per merchant: memory stays flat however many merchants and rows there are.
    this.claimBatch = Math.max(4, Math.min(64, Math.ceil((4 * o.concurrency) / Math.max(1, pending.length))));
    for (const { merchant, count } of pending) {
      const lane = new Lane(merchant, merchant === '' ? undefined : o.merchants.token(merchant), make);
      lane.pendingAtStart = count;
      if (merchant !== '' && lane.token === undefined) {
        lane.stopped = { code: 'NO_TOKEN', reason: 'no file of this run names its app_auth_token: its rows stay pending until one does' };
      }
      this.lanes.push(lane);
    }
  }

  /** Whether the run sends for merchants at all (a lane other than "no merchant"). */
  get anyMerchant(): boolean {
    return this.lanes.some((l) => l.merchant !== '');
  }

  /** Where a merchant was first named in this run, for messages. */
  seen(lane: Lane): string {
    const first = this.o.merchants.firstSeen(lane.merchant);
    return first ? ` (first named at ${first})` : '';
  }

  private refill(lane: Lane): void {
    if (lane.queue.length > 0 || lane.exhausted) return;
    const rows = this.o.ledger.claimPending(this.o.dataset, lane.cursor, this.claimBatch, lane.merchant);
    if (rows.length === 0) lane.exhausted = true;
    for (const row of rows) {
      lane.cursor = row.rowid;
      lane.queue.push({ row, attempts: row.attempts, here: 0, notBefore: 0 });
    }
  }

  /**
   * The next row to send at `now` (performance.now()), round-robin from the lane after the last one served; or
   * when to look again; or idle (nothing is ready and nothing waits: the caller waits for answers, or is done).
   */
  pick(now: number): Pick {
    const n = this.lanes.length;
    let soonest = Infinity;
    const globalAt = this.global.nextAt(now);
    for (let k = 0; k < n; k++) {
      const i = (this.next + k) % n;
      const lane = this.lanes[i]!;
      if (lane.stopped || lane.spentUntil !== null) continue;
      let turn: Turn | undefined;
      const retry = lane.retries[0];
      if (retry && retry.notBefore <= now) turn = retry;
      else {
        this.refill(lane);
        turn = lane.queue[0];
        if (!turn) {
          if (retry) soonest = Math.min(soonest, retry.notBefore);
          continue;
        }
      }
      const at = Math.max(globalAt, lane.rate(this.o.method).nextAt(now));
      if (at > now) {
        soonest = Math.min(soonest, at);
        continue;
      }
      if (turn === retry) lane.retries.shift();
      else lane.queue.shift();
      this.next = i + 1;
      this.global.started(now);
      return { lane, turn, slot: { id: lane.rate(this.o.method).start(now), sentAt: now } };
    }
    return Number.isFinite(soonest) ? { waitUntil: soonest } : { idle: true };
  }

  /** The rate sending is allowed now: the sum of the lanes' rates that may send, under the global ceiling. */
  currentRate(): number {
    const sum = this.lanes.filter((l) => !l.stopped && l.spentUntil === null && l.hasWork).reduce((n, l) => n + l.rate(this.o.method).rate, 0);
    return Math.min(this.global.rate, sum || this.global.rate);
  }

  /** Whether the gateway asked any lane to slow down. */
  throttled(): boolean {
    return this.lanes.some((l) => l.allRates().some((r) => r.throttled > 0));
  }

  /** Lanes whose daily quota is spent while they still have rows. */
  spent(): Lane[] {
    return this.lanes.filter((l) => l.spentUntil !== null && !l.stopped && l.hasWork);
  }

  /** Lanes whose quota reset has passed (wall clock) ask again. */
  reopen(wallNow: number): Lane[] {
    const back = this.lanes.filter((l) => l.spentUntil !== null && l.spentUntil <= wallNow);
    for (const lane of back) {
      lane.spentUntil = null;
      for (const r of lane.allRates()) {
        if (r.daily) {
          r.quotaReset(performance.now());
          this.o.ledger.clearQuotaStop(r.key);
        }
      }
    }
    return back;
  }

  /** Daily quotas stored as spent that answered again in this run: forgotten. */
  clearRecovered(): void {
    for (const lane of this.lanes) {
      for (const r of lane.allRates()) {
        if (r.admitted > 0 && !r.daily && this.stops.has(`${r.key.merchant}\u0000${r.key.method}`)) this.o.ledger.clearQuotaStop(r.key);
      }
    }
  }

  /** Keep what every rate learned (where the next run starts). */
  saveLearned(runId: number): void {
    const rates = this.lanes.flatMap((l) => l.allRates()).map((r) => r.learned()).filter((r): r is LearnedRate => r !== null);
    if (rates.length) this.o.ledger.saveLearnedRates(rates, runId);
  }
}
