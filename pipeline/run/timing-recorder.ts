import type { LedgerTiming, TimingCode, TimingKey, TimingSecond } from '../../state/port.js';
import type { Logger } from '../log.js';
import type { Answered, LiveState, RowOutcome, RunObserver } from './observe.js';

/**
 * Keeps how a run sends, for its report: per second (requests, outcomes, 40005s, the limiter's rate, latency,
 * requests in flight), a latency histogram, answers by code, the slowest requests and the first failed rows.
 * Aggregated in memory and written to the ledger about once a second in one small transaction (a few thousand
 * rows for a five-hour migration), never a write per request.
 */
export const SLOWEST_KEPT = 10;
export const FAILED_KEPT = 100;

/** Histogram bucket of a latency: i holds (1.1^(i-1), 1.1^i] ms, so a percentile read back is within 10%. */
export function latencyBucket(ms: number): number {
  return ms <= 1 ? 0 : Math.ceil(Math.log(ms) / Math.log(1.1) - 1e-9);
}

/** The upper bound of a bucket, ms. */
export function bucketBound(i: number): number {
  return i <= 0 ? 1 : 1.1 ** i;
}

export class TimingRecorder implements RunObserver {
  private seconds = new Map<number, TimingSecond>();
  private latency = new Map<number, number>();
  private codes = new Map<string, TimingCode>();
  private slowest: TimingKey[] = [];
  private failed: TimingKey[] = [];
  private keysChanged = false;
  private live: LiveState | null = null;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private warned = false;

  constructor(
    private readonly ledger: Pick<LedgerTiming, 'recordTiming'>,
    private readonly runId: number,
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
    flushMs = 1000,
  ) {
    this.timer = setInterval(() => this.flush(), flushMs);
    this.timer.unref();
  }

  sending(live: LiveState): void {
    this.live = live;
  }

  private second(ms: number): TimingSecond {
    const s = Math.floor(ms / 1000);
    let b = this.seconds.get(s);
    if (!b) {
      b = { second: s, requests: 0, ok: 0, retried: 0, failed: 0, fatal: 0, slowDowns: 0, rate: null, latencyMs: 0, inFlight: 0 };
      this.seconds.set(s, b);
    }
    const rate = this.live?.rate() ?? Infinity;
    b.rate = Number.isFinite(rate) ? rate : null;
    return b;
  }

  requestStarted(): void {
    const b = this.second(this.clock());
    b.requests++;
    b.inFlight = Math.max(b.inFlight, ++this.inFlight);
  }

  answered(a: Answered): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const b = this.second(this.clock());
    if (a.kind === 'success') b.ok++;
    else if (a.kind === 'transient') b.retried++;
    else if (a.kind === 'run-fatal') b.fatal++;
    else b.failed++;
    if (a.slowDown) b.slowDowns++;
    b.latencyMs += a.durationMs;
    const i = latencyBucket(a.durationMs);
    this.latency.set(i, (this.latency.get(i) ?? 0) + 1);
    const codeKey = `${a.kind}\t${a.code}\t${a.subCode ?? ''}`;
    const c = this.codes.get(codeKey);
    if (c) c.count++;
    else this.codes.set(codeKey, { kind: a.kind, code: a.code, subCode: a.subCode ?? '', count: 1 });
    const low = this.slowest[this.slowest.length - 1];
    if (this.slowest.length < SLOWEST_KEPT || (low && a.durationMs > (low.durationMs ?? 0))) {
      this.slowest.push({
        list: 'slowest', key: a.key, attempt: a.attempt, durationMs: Math.round(a.durationMs), code: a.code, subCode: a.subCode ?? null,
        reason: null, at: new Date(a.startedAt).toISOString(),
      });
      this.slowest.sort((x, y) => (y.durationMs ?? 0) - (x.durationMs ?? 0));
      this.slowest.length = Math.min(this.slowest.length, SLOWEST_KEPT);
      this.keysChanged = true;
    }
  }

  rowDone(outcome: RowOutcome, d: { key: string; attempt: number; code?: string | undefined; subCode?: string | undefined; reason?: string | undefined }): void {
    if (outcome !== 'failed' || this.failed.length >= FAILED_KEPT) return;
    this.failed.push({
      list: 'failed', key: d.key, attempt: d.attempt, durationMs: null, code: d.code ?? null, subCode: d.subCode ?? null,
      reason: d.reason ?? null, at: new Date(this.clock()).toISOString(),
    });
    this.keysChanged = true;
  }

  /** Write what was gathered since the last flush (deltas; the key lists as they stand). */
  flush(): void {
    if (this.seconds.size === 0 && this.latency.size === 0 && !this.keysChanged) return;
    const batch = {
      seconds: [...this.seconds.values()],
      latency: [...this.latency].map(([bucket, count]) => ({ bucket, count })),
      codes: [...this.codes.values()],
      ...(this.keysChanged ? { keys: [...this.slowest, ...this.failed] } : {}),
    };
    this.seconds = new Map();
    this.latency = new Map();
    this.codes = new Map();
    this.keysChanged = false;
    try {
      this.ledger.recordTiming(this.runId, batch);
    } catch (err) {
      // The report loses a second of detail; the run itself is not stopped by it (its own writes would say so).
      if (!this.warned) this.logger.warn(`cannot record the run's timing for its report: ${(err as Error).message}`);
      this.warned = true;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush();
  }
}
