import type { LedgerPacing, Mode, PaceLimit } from '../state/port.js';
import { sleep, type Limiter } from './rate-limit.js';

/** A slot woken up later than this is given back and another reserved: a late start could crowd the next window. */
const LATE_MS = 15;
/** ... but not forever on a machine that is always late. */
const MAX_LATE_RETRIES = 2;
/** With no ceiling, how often to look whether a 40005 somewhere taught the shared limit a rate. */
const LEARNED_CHECK_MS = 1000;

/**
 * The rate limit of a run on a shared ledger (PostgreSQL): each start slot is reserved in the database
 * (LedgerPacing.reserveSlot, one UPDATE … RETURNING under every key at once: this dataset's (app, merchant,
 * method) and, with --global-qps, the app's), then waited for here. N workers together then start no more than
 * the ceiling in any second, and one worker's 40005 slows them all (slowDown halves the shared rate).
 */
export class SharedRateLimiter implements Limiter {
  slowDowns = 0;
  private rate: number;
  private readonly unlimited: boolean;
  private learned = false;
  private learnedCheckedAt = -Infinity;
  private recent: number[] = [];

  constructor(
    private readonly pacing: LedgerPacing<Mode>,
    private readonly limits: readonly PaceLimit[],
    private readonly clock: () => number = () => performance.now(),
  ) {
    const ceilings = limits.map((l) => (l.qps > 0 && Number.isFinite(l.qps) ? l.qps : Infinity));
    this.rate = Math.min(...ceilings);
    this.unlimited = this.rate === Infinity;
  }

  get currentRate(): number {
    return this.rate;
  }

  now(): number {
    return this.clock();
  }

  async take(signal?: AbortSignal): Promise<void> {
    if (this.unlimited && !(await this.hasLearned())) return this.note();
    for (let tries = 0; ; tries++) {
      if (signal?.aborted) return;
      // The slot is `wait` after the server's now, which lies between t0 and the answer: t0 + wait is the earliest
      // it can be here, so an answer that came back late (a busy event loop) counts as lateness too.
      const t0 = this.clock();
      const wait = await this.pacing.reserveSlot(this.limits);
      const target = t0 + wait;
      await sleep(target - this.clock(), signal);
      if (this.clock() - target <= LATE_MS || tries >= MAX_LATE_RETRIES) return this.note();
    }
  }

  /** Without a ceiling, slots are reserved only once some worker's 40005 set a rate (looked at once a second). */
  private async hasLearned(): Promise<boolean> {
    const now = this.clock();
    if (now - this.learnedCheckedAt >= LEARNED_CHECK_MS) {
      this.learnedCheckedAt = now;
      this.learned = (await this.pacing.currentRate(this.limits[0]!.key)) !== null;
    }
    return this.learned;
  }

  slowDown(sentAt: number = this.clock()): void {
    const now = this.clock();
    const first = this.limits[0]!;
    const observed = this.observedRate(now);
    Promise.resolve()
      .then(() => this.pacing.slowDown(first.key, { ceiling: first.qps, observed, sentAgoMs: Math.max(0, now - sentAt), holdMs: 1000 }))
      .then((rate) => {
        if (rate === null) return;
        this.slowDowns++;
        this.rate = Math.min(this.rate, rate);
        this.learned = true;
      }, () => {
        // the ledger is unreachable: the run's next ledger write says so
      });
  }

  private note(): void {
    this.recent.push(this.clock());
    if (this.recent.length > 4096) this.recent = this.recent.slice(-2048);
  }

  private observedRate(now: number): number {
    let n = 0;
    for (let i = this.recent.length - 1; i >= 0 && now - this.recent[i]! <= 1000; i--) n++;
    return n;
  }
}
