/**
 * A QPS ceiling that is also reached: requests are spaced 1/rate apart (GCRA, the "virtual scheduling" form of a
 * token bucket), with a burst of `burst` requests allowed after idle time. With burst 1, no one-second window
 * holds more than `qps` starts (plus one at the window's closed edge).
 *
 * Alipay publishes no quota; its only signal is 40005. slowDown() halves the rate at once (multiplicative
 * decrease) and the rate climbs back by 20% per `recoverMs` without another 40005 (so it probes the quota
 * again instead of staying slow for the rest of a long migration).
 */
export interface RateLimiterOptions {
  /** ceiling in requests per second; 0 or Infinity means none */
  qps: number;
  burst?: number;
  recoverMs?: number;
  /** after a decrease, further 40005s are ignored this long (the quota window) */
  holdMs?: number;
  clock?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** the share of the ceiling actually used, so that arrival jitter cannot push a second over it */
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

/** What the sending loop needs of a rate limit: this process's own (RateLimiter) or one shared through the ledger. */
export interface Limiter {
  /** Wait for the next start slot; resolves early (without a slot) when `signal` aborts. */
  take(signal?: AbortSignal): Promise<void>;
  /** the limiter's clock, to stamp when a request started (pass it back to slowDown) */
  now(): number;
  /** the gateway said 40005 (or 429) to a request that started at `sentAt` */
  slowDown(sentAt?: number): void;
  readonly slowDowns: number;
  readonly currentRate: number;
}

export class RateLimiter implements Limiter {
  readonly ceiling: number;
  private rate: number;
  private nextFree = 0;
  private lastStart = -Infinity;
  private readonly idle: Promise<void> = Promise.resolve();
  private chain: Promise<void> = this.idle;
  private readonly burst: number;
  private readonly recoverMs: number;
  private readonly holdMs: number;
  private readonly clock: () => number;
  private readonly sleepFn: (ms: number, signal?: AbortSignal) => Promise<void>;
  private lastSlowDown = -Infinity;
  private lastRecover = 0;
  /** starts in the current and previous second, to estimate the rate when there is no ceiling */
  private recent: number[] = [];
  slowDowns = 0;

  constructor(options: RateLimiterOptions) {
    this.ceiling = options.qps > 0 && Number.isFinite(options.qps) ? options.qps : Infinity;
    this.rate = this.ceiling;
    this.burst = Math.max(1, options.burst ?? 1);
    this.recoverMs = options.recoverMs ?? 2000;
    this.holdMs = options.holdMs ?? 1000;
    this.clock = options.clock ?? (() => performance.now());
    this.sleepFn = options.sleep ?? sleep;
  }

  get currentRate(): number {
    return this.rate;
  }

  /**
   * Wait for the next start slot. Resolves early (without a slot) when `signal` aborts; check it after.
   * Waiters are served one at a time, in order: if the event loop stalls, timers that were due during the stall
   * would otherwise fire together and release a burst; one at a time, each start is at least `1/rate` after the
   * previous actual start (with burst 1), so the ceiling holds in every window, not just on average.
   */
  take(signal?: AbortSignal): Promise<void> {
    // No ceiling and nobody waiting: nothing to order (the common case of a migration at full speed).
    if (this.rate === Infinity && this.chain === this.idle && this.ceiling === Infinity) {
      this.note(this.clock());
      return this.idle;
    }
    const turn = this.chain.then(() => this.acquire(signal));
    this.chain = turn;
    return turn;
  }

  private async acquire(signal?: AbortSignal): Promise<void> {
    let now = this.clock();
    this.recover(now);
    if (this.rate === Infinity) {
      this.note(now);
      return;
    }
    // 2% wider than 1/rate: the ceiling that counts is the one the gateway sees, and arrivals jitter by a few ms.
    // Over a second, 2% is 20 ms of jitter absorbed, so no one-second window at the gateway holds more than the
    // ceiling (+1 at its edge) while the rate reached is still 98% of it.
    const interval = 1000 / (this.rate * SPACING);
    // Idle time earns at most `burst` back-to-back starts; with burst 1, never closer than `interval` to the last.
    const earliest = now - (this.burst - 1) * interval;
    const slot = Math.max(this.nextFree, earliest, this.burst === 1 ? this.lastStart + interval : -Infinity);
    this.nextFree = slot + interval;
    const wait = slot - now;
    if (wait > 0) {
      await this.sleepFn(wait, signal);
      now = this.clock();
    }
    this.lastStart = now;
    this.note(now);
  }

  /** The limiter's clock, to stamp when a request started (pass it back to slowDown). */
  now(): number {
    return this.clock();
  }

  /**
   * The gateway said 40005 (or HTTP 429) to a request that started at `sentAt`: halve the rate. Answers to
   * requests that started before the last decrease were sent at the old rate and say nothing new: ignored.
   * So are those within `holdMs` of it: a per-second quota stays exhausted for up to a second after a burst.
   */
  slowDown(sentAt: number = this.clock()): void {
    const now = this.clock();
    if (sentAt < this.lastSlowDown || now - this.lastSlowDown < this.holdMs) return;
    const base = this.rate === Infinity ? Math.max(1, this.observedRate(now)) : this.rate;
    this.rate = Math.max(0.5, base / 2);
    this.lastSlowDown = now;
    this.lastRecover = now;
    this.slowDowns++;
  }

  private recover(now: number): void {
    if (this.rate >= this.ceiling || now - this.lastRecover < this.recoverMs) return;
    this.lastRecover = now;
    this.rate = this.rate * 1.2;
    if (this.rate >= this.ceiling || (this.ceiling === Infinity && this.rate > 10_000)) this.rate = this.ceiling;
  }

  private note(now: number): void {
    this.recent.push(now);
    if (this.recent.length > 4096) this.recent = this.recent.slice(-2048);
  }

  private observedRate(now: number): number {
    let n = 0;
    for (let i = this.recent.length - 1; i >= 0 && now - this.recent[i]! <= 1000; i--) n++;
    return n;
  }
}

/** Exponential backoff with full jitter: a uniform delay in [0, min(cap, base·2^(attempt-1))]. */
export function backoffDelay(attempt: number, baseMs: number, capMs = 30_000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
