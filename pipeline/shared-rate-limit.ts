import type { LedgerPacing, Mode, PaceLimit } from '../state/port.js';
import { sleep } from './rate-limit.js';

/** A slot woken up later than this is given back and another reserved: a late start could crowd the next window. */
const LATE_MS = 15;
/** ... but not forever on a machine that is always late. */
const MAX_LATE_RETRIES = 2;
/** With no ceiling, how often to look whether a 40005 somewhere taught the shared limit a rate. */
const LEARNED_CHECK_MS = 1000;

const finite = (qps: number) => (qps > 0 && Number.isFinite(qps) ? qps : Infinity);

/**
 * The rate limit all workers of a shared ledger (PostgreSQL) obey together, on top of each worker's own pacing
 * (lanes.ts): before a request starts, its slot is reserved in the database (LedgerPacing.reserveSlot, one
 * UPDATE … RETURNING under both keys at once: the app, at --qps, and the (app, merchant, method), at the rate
 * that merchant's controller allows now), then waited for here. N workers together then start no more than the
 * ceiling in any second, and one worker's 40005 slows them all (slowDown halves the shared rate of the key).
 */
export class SharedPacing {
  private readonly learnedAt = new Map<string, { checked: number; learned: boolean }>();
  private readonly recent: number[] = [];

  constructor(
    private readonly pacing: LedgerPacing<Mode>,
    private readonly appId: string,
    /** --qps, the global ceiling (0: none) */
    private readonly ceiling: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  private key(merchant: string, method: string): string {
    return `${this.appId}|${merchant || '-'}|${method}`;
  }

  /** Wait for a start slot of `merchant`'s `method` at `rate` (its controller's), under the global ceiling. */
  async take(merchant: string, method: string, rate: number, signal?: AbortSignal): Promise<void> {
    const limits: PaceLimit[] = [{ key: `${this.appId}|*`, qps: finite(this.ceiling) }, { key: this.key(merchant, method), qps: finite(rate) }];
    if (limits.every((l) => l.qps === Infinity) && !(await this.hasLearned(limits[1]!.key))) return this.note();
    for (let tries = 0; ; tries++) {
      if (signal?.aborted) return;
      // The slot is `wait` after the server's now, which lies between t0 and the answer: t0 + wait is the earliest
      // it can be here, so an answer that came back late (a busy event loop) counts as lateness too.
      const t0 = this.clock();
      const wait = await this.pacing.reserveSlot(limits);
      const target = t0 + wait;
      await sleep(target - this.clock(), signal);
      if (this.clock() - target <= LATE_MS || tries >= MAX_LATE_RETRIES) return this.note();
    }
  }

  /** Without a ceiling, slots are reserved only once some worker's 40005 set a rate (looked at once a second). */
  private async hasLearned(key: string): Promise<boolean> {
    const now = this.clock();
    const seen = this.learnedAt.get(key);
    if (seen && now - seen.checked < LEARNED_CHECK_MS) return seen.learned;
    const learned = (await this.pacing.currentRate(key)) !== null;
    this.learnedAt.set(key, { checked: now, learned });
    return learned;
  }

  /** A 40005 (or 429) to a request of `merchant`'s `method` started at `sentAt`: the shared rate halves for all. */
  slowDown(merchant: string, method: string, rate: number, sentAt: number): void {
    const now = this.clock();
    const key = this.key(merchant, method);
    const observed = this.recent.filter((t) => now - t <= 1000).length;
    Promise.resolve()
      .then(() => this.pacing.slowDown(key, { ceiling: finite(rate), observed, sentAgoMs: Math.max(0, now - sentAt), holdMs: 1000 }))
      .then((r) => {
        if (r !== null) this.learnedAt.set(key, { checked: now, learned: true });
      }, () => {
        // the ledger is unreachable: the run's next ledger write says so
      });
  }

  private note(): void {
    this.recent.push(this.clock());
    if (this.recent.length > 2048) this.recent.splice(0, 1024);
  }
}
