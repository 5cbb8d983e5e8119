/** How a run sent, as the ledger keeps it for the run's report (LedgerTiming in state/port.ts). */

/** The settings a run sent with, kept with the run for its report. */
export interface RunSettings {
  /** the --qps ceiling; null: none */
  qps: number | null;
  concurrency?: number;
  max_attempts?: number;
  /** the rate a ledger learned for this target, where the run started (when known) */
  learned_rate?: number | null;
  [name: string]: unknown;
}

/** One second of a run's sending (deltas when recorded, sums when read). */
export interface TimingSecond {
  /** unix time, seconds */
  second: number;
  /** requests started */
  requests: number;
  /** answers: success, transient (retried or given up), row failure, run failure */
  ok: number;
  retried: number;
  failed: number;
  fatal: number;
  /** 40005 / HTTP 429 answers */
  slowDowns: number;
  /** the rate the limiter allowed at the end of that second; null: no ceiling */
  rate: number | null;
  /** answer latency summed, ms */
  latencyMs: number;
  /** most requests in flight at once in that second */
  inFlight: number;
}

/** Answers of a run by outcome kind, code and sub_code ('' when none). */
export interface TimingCode {
  kind: string;
  code: string;
  subCode: string;
  count: number;
}

/** A key worth naming in a run's report: one of its slowest requests, or one of its first failed rows. */
export interface TimingKey {
  list: 'slowest' | 'failed';
  key: string;
  attempt: number;
  durationMs: number | null;
  code: string | null;
  subCode: string | null;
  /** already free of personal data */
  reason: string | null;
  /** ISO time */
  at: string;
}

/**
 * What the run wrote since its last batch: seconds, histogram buckets and codes are added to what is held;
 * `keys`, when given, replaces the run's lists (the slowest so far, the first failures).
 */
export interface RunTimingBatch {
  seconds: TimingSecond[];
  /** bucket i holds durations in (1.1^(i-1), 1.1^i] ms; bucket 0 at most 1 ms */
  latency: { bucket: number; count: number }[];
  codes: TimingCode[];
  keys?: TimingKey[];
}

/** Everything recorded of a run's sending (empty for runs of older versions and dry runs). */
export interface RunTiming {
  seconds: TimingSecond[];
  latency: { bucket: number; count: number }[];
  codes: TimingCode[];
  keys: TimingKey[];
}
