import { maskLookAlike } from '../../sources/mask.js';
import type { LedgerReports, LedgerTiming, RunInfo, TimingKey, TimingSecond } from '../../state/port.js';
import { SyncError } from '../errors.js';
import { bucketBound } from '../run/timing-recorder.js';
import { redactCommandText } from '../settings.js';

/**
 * What a run report shows, computed from the ledger (the run, its summary and the timing its send loop
 * recorded): counts that add up, the send rate per time step against --qps and the learned rate, 40005
 * slow-downs, latency percentiles, answers by code, the slowest and failed keys (masked). html.ts draws it.
 */
export const COUNT_NAMES = ['rejected', 'superseded', 'unchanged', 'uploaded', 'failed', 'pending'] as const;
/** time steps on the rate chart at most: a five-hour run is drawn in 30 s steps */
export const MAX_STEPS = 600;

export interface RateStep {
  /** seconds since the first second with a request */
  t: number;
  /** requests started per second in this step */
  rate: number;
  /** the limiter's rate: lowest in the step (null: no ceiling) */
  limit: number | null;
  slowDowns: number;
  /** mean answer latency in this step, ms (null: no answer) */
  latencyMs: number | null;
}

export interface ReportData {
  run: RunInfo;
  command: string;
  /** read, then each part of it: they add up (read = rejected + … + pending) */
  counts: { read: number; parts: { name: string; value: number }[]; addsUp: boolean } | null;
  carried: { uploaded: number; failed: number; pending: number } | null;
  qps: number | null;
  learnedRate: number | null;
  requests: { total: number; ok: number; retried: number; failed: number; fatal: number; slowDowns: number };
  /** seconds per step of `steps` */
  step: number;
  steps: RateStep[];
  /** sending started (unix s) */
  firstSecond: number | null;
  latency: { count: number; meanMs: number | null; p50: number | null; p90: number | null; p95: number | null; p99: number | null; maxMs: number | null };
  /** histogram, buckets in ms as recorded (see timing-recorder.ts) */
  histogram: { upperMs: number; count: number }[];
  codes: { kind: string; code: string; subCode: string; count: number }[];
  slowest: TimingKey[];
  failed: TimingKey[];
  /** why there is no timing: an older version's run, a run that sent nothing */
  timingNote: string | null;
}

/** A key as it may be shown: hashed keys shortened, anything shaped like an ID number or a mobile number masked. */
export function showKey(key: string): string {
  if (/^h:[0-9a-f]{16,}$/i.test(key)) return `${key.slice(0, 10)}… (keyed hash)`;
  return maskLookAlike(key, true);
}

/** The p-th percentile from a histogram of (lower, upper] buckets, interpolated within its bucket. */
export function percentile(buckets: readonly { bucket: number; count: number }[], p: number): number | null {
  const total = buckets.reduce((s, b) => s + b.count, 0);
  if (total === 0) return null;
  const rank = p * total;
  let seen = 0;
  for (const b of buckets) {
    if (seen + b.count >= rank) {
      const upper = bucketBound(b.bucket);
      const lower = b.bucket <= 0 ? 0 : bucketBound(b.bucket - 1);
      return lower + ((upper - lower) * (rank - seen)) / b.count;
    }
    seen += b.count;
  }
  return bucketBound(buckets[buckets.length - 1]!.bucket);
}

/** Seconds from the first to the last, gaps filled with zeros, grouped into at most MAX_STEPS steps. */
export function rateSteps(seconds: readonly TimingSecond[]): { step: number; steps: RateStep[] } {
  if (seconds.length === 0) return { step: 1, steps: [] };
  const first = seconds[0]!.second;
  const span = seconds[seconds.length - 1]!.second - first + 1;
  const step = Math.max(1, Math.ceil(span / MAX_STEPS));
  const steps: RateStep[] = [];
  for (let t = 0; t < span; t += step) steps.push({ t, rate: 0, limit: null, slowDowns: 0, latencyMs: null });
  const answered = new Map<number, { n: number; ms: number }>();
  for (const s of seconds) {
    const i = Math.floor((s.second - first) / step);
    const st = steps[i]!;
    st.rate += s.requests / step;
    st.slowDowns += s.slowDowns;
    if (s.rate !== null) st.limit = st.limit === null ? s.rate : Math.min(st.limit, s.rate);
    const n = s.ok + s.retried + s.failed + s.fatal;
    const a = answered.get(i) ?? { n: 0, ms: 0 };
    answered.set(i, { n: a.n + n, ms: a.ms + s.latencyMs });
  }
  for (const [i, a] of answered) if (a.n > 0) steps[i]!.latencyMs = a.ms / a.n;
  // a step with no request inherits the limit around it (the limiter held it; nothing was recorded)
  let last: number | null = null;
  for (const st of steps) {
    if (st.limit === null) st.limit = last;
    else last = st.limit;
  }
  return { step, steps };
}

type ReportLedger = Pick<LedgerReports, 'runInfo' | 'recentRuns'> & Pick<LedgerTiming, 'runTiming'>;

/** The run asked for, or the newest real run; a dry run records nothing to report on. */
export function pickRun(ledger: ReportLedger, runId: number | undefined): RunInfo {
  if (runId !== undefined) {
    const run = ledger.runInfo(runId);
    if (!run) throw new SyncError('SYNC_CONFIG_INVALID', `--run ${runId}: the ledger has no such run (alipay-sync status lists them)`);
    return run;
  }
  const run = ledger.recentRuns(50).find((r) => !r.dryRun);
  if (!run) throw new SyncError('SYNC_CONFIG_INVALID', 'the ledger has no run to report on yet (dry runs leave none)');
  return run;
}

export function reportData(ledger: ReportLedger, run: RunInfo): ReportData {
  const timing = ledger.runTiming(run.id);
  // Runs recorded before 0.2 called the unchanged count `skipped`.
  const s: Record<string, unknown> = { unchanged: run.summary?.skipped, ...run.summary };
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  const counts = typeof s.read === 'number'
    ? (() => {
        const parts = COUNT_NAMES.map((name) => ({ name, value: num(s[name]) }));
        return { read: s.read, parts, addsUp: parts.reduce((a, p) => a + p.value, 0) === s.read };
      })()
    : null;
  const carried = s.carried_over && typeof s.carried_over === 'object' ? (s.carried_over as ReportData['carried']) : null;
  const sum = (f: (x: TimingSecond) => number) => timing.seconds.reduce((a, x) => a + f(x), 0);
  const requests = {
    total: sum((x) => x.requests), ok: sum((x) => x.ok), retried: sum((x) => x.retried), failed: sum((x) => x.failed), fatal: sum((x) => x.fatal),
    slowDowns: sum((x) => x.slowDowns),
  };
  const answered = requests.ok + requests.retried + requests.failed + requests.fatal;
  const slowest = timing.keys.filter((k) => k.list === 'slowest').map((k) => ({ ...k, key: showKey(k.key) }));
  const failed = timing.keys.filter((k) => k.list === 'failed').map((k) => ({ ...k, key: showKey(k.key), reason: k.reason === null ? null : maskLookAlike(k.reason, true) }));
  const { step, steps } = rateSteps(timing.seconds);
  const settings = run.settings;
  const pct = (p: number) => percentile(timing.latency, p);
  return {
    run, command: redactCommandText(run.command), counts, carried,
    qps: settings?.qps ?? null, learnedRate: typeof settings?.learned_rate === 'number' ? settings.learned_rate : null,
    requests, step, steps, firstSecond: timing.seconds[0]?.second ?? null,
    latency: {
      count: answered, meanMs: answered ? sum((x) => x.latencyMs) / answered : null,
      p50: pct(0.5), p90: pct(0.9), p95: pct(0.95), p99: pct(0.99), maxMs: slowest[0]?.durationMs ?? null,
    },
    histogram: timing.latency.map((b) => ({ upperMs: bucketBound(b.bucket), count: b.count })),
    codes: timing.codes, slowest, failed,
    timingNote: settings === null
      ? 'This run was recorded by an older version of alipay-sync, which kept no timing: counts only.'
      : timing.seconds.length === 0 ? 'This run sent no request (everything was unchanged, rejected or stopped before sending).' : null,
  };
}
