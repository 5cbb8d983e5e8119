/**
 * Pacing: requests spaced 1/rate apart (GCRA, the "virtual scheduling" form of a token bucket), with a burst of
 * `burst` requests allowed after idle time. With burst 1, no one-second window holds more than `rate` starts
 * (plus one at the window's closed edge). What the rate should be is not decided here: --qps is the global
 * ceiling, and each (app, merchant, method) has its own rate from pipeline/rate/controller.ts.
 */

/** the share of the rate actually used, so that arrival jitter cannot push a second over it */
export const SPACING = 0.98;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface PacerOptions {
  /** requests per second; 0 or Infinity means none */
  rate: number;
  /** the share of the rate used (default SPACING, 98%) */
  spacing?: number;
  /** how much lateness (a timer that fired late, a busy loop) later starts may make up, in ms (default: a few) */
  catchUpMs?: number;
  burst?: number;
  clock?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class Pacer {
  private rateNow: number;
  /** theoretical arrival time of the next start (GCRA) */
  private tat = -Infinity;
  private lastStart = -Infinity;
  /** how late the last start was against the schedule (made up by the next one) */
  private behind = 0;
  /** recent start times, for the one-second cap */
  private recent: number[] = [];
  private readonly burst: number;
  private readonly spacing: number;
  /** see `slack` (changeable: it may follow the rate) */
  catchUpMs: number | undefined;
  private readonly clock: () => number;
  private readonly sleepFn: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly idle: Promise<void> = Promise.resolve();
  private chain: Promise<void> = this.idle;

  constructor(o: PacerOptions) {
    this.rateNow = Pacer.norm(o.rate);
    this.burst = Math.max(1, o.burst ?? 1);
    this.spacing = o.spacing ?? SPACING;
    this.catchUpMs = o.catchUpMs;
    this.clock = o.clock ?? (() => performance.now());
    this.sleepFn = o.sleep ?? sleep;
  }

  private static norm(rate: number): number {
    return rate > 0 && Number.isFinite(rate) ? rate : Infinity;
  }

  get rate(): number {
    return this.rateNow;
  }

  set rate(r: number) {
    this.rateNow = Pacer.norm(r);
  }

  /**
   * 2% wider than 1/rate: the ceiling that counts is the one the gateway sees, and arrivals jitter by a few ms.
   * Over a second, 2% is 20 ms of jitter absorbed, so no one-second window at the gateway holds more than the
   * rate (+1 at its edge) while the rate reached is still 98% of it.
   */
  private get interval(): number {
    return this.rateNow === Infinity ? 0 : 1000 / (this.rateNow * this.spacing);
  }

  /**
   * How late a start may be and still keep the schedule (`catchUpMs`): a timer fires late on a busy machine (a
   * millisecond usually, tens when the CPU is shared), and at 50/s a start 1.5 ms late every time would make 46/s
   * if each start were spaced from the last. By default a few ms are made up (starts stay evenly spaced: --qps);
   * a pacer told to make up more bunches the starts that follow a stall, never more than the one-second cap below.
   */
  private get slack(): number {
    return this.catchUpMs ?? Math.min(this.interval / 4, 5);
  }

  /** Starts allowed in any one-second window (of send times): what the spacing allows, rounded (from 2). */
  private get cap(): number {
    const n = Math.round(this.rateNow * this.spacing);
    return n >= 2 && this.burst === 1 ? n : Infinity;
  }

  /** The earliest a request may start, at `now` or later (no slot is taken). */
  nextAt(now: number): number {
    if (this.rateNow === Infinity) return now;
    const interval = this.interval;
    // Idle time earns at most `burst` back-to-back starts; with burst 1, never closer than `interval` (less the
    // lateness being made up) to the last actual start, whatever the rate was when it was taken (a rate just
    // lowered holds at once), and never more than the rate in any one second.
    const slot = Math.max(now, this.tat - (this.burst - 1) * interval);
    if (this.burst !== 1) return slot;
    const cap = this.cap;
    const n = this.recent.length;
    const windowFull = n >= cap ? this.recent[n - cap]! + 1000 : -Infinity;
    return Math.max(slot, this.lastStart + interval - Math.min(this.slack, Math.max(0, this.behind)), windowFull);
  }

  /**
   * A request started at `at` (at or after nextAt): the next slot moves on, from the schedule when it was late by
   * no more than the slack (so timer lateness does not add up), else from `at` (after idle time).
   */
  started(at: number): void {
    const late = at - this.tat;
    this.behind = late <= this.slack ? Math.max(0, late) : 0;
    this.tat = (late <= this.slack ? this.tat : at) + this.interval;
    this.lastStart = at;
    this.recent.push(at);
    if (this.recent.length > 4096) this.recent = this.recent.slice(-2048);
  }

  /** The pacer's clock, to stamp when a request started. */
  now(): number {
    return this.clock();
  }

  /**
   * Wait for the next start slot and take it. Resolves early (without a slot) when `signal` aborts; check it
   * after. Waiters are served one at a time, in order: if the event loop stalls, timers that were due during the
   * stall would otherwise fire together and release a burst; one at a time, each start is at least `1/rate`
   * after the previous actual start (with burst 1), so the rate holds in every window, not just on average.
   */
  take(signal?: AbortSignal): Promise<void> {
    if (this.rateNow === Infinity && this.chain === this.idle) {
      this.started(this.clock());
      return this.idle;
    }
    const turn = this.chain.then(async () => {
      let now = this.clock();
      const at = this.nextAt(now);
      if (at > now) {
        await this.sleepFn(at - now, signal);
        now = this.clock();
      }
      if (!signal?.aborted) this.started(Math.max(now, at));
    });
    this.chain = turn;
    return turn;
  }
}

/** Exponential backoff with full jitter: a uniform delay in [0, min(cap, base·2^(attempt-1))]. */
export function backoffDelay(attempt: number, baseMs: number, capMs = 30_000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
