import type { LedgerTiming, RunTiming, RunTimingBatch, TimingCode, TimingKey, TimingSecond } from '../port.js';
import type { PgConnection } from './connection.js';

/**
 * A run's sending in aggregates (run_seconds, run_latency, run_codes, run_keys), as in the SQLite ledger
 * (state/sqlite/timing.ts): written by the run about once a second, read by its report. Each worker writes its
 * own run's rows, so workers never contend for them.
 */
export class PgTiming implements LedgerTiming<'async'> {
  constructor(private readonly c: PgConnection) {}

  recordTiming(runId: number, b: RunTimingBatch): Promise<void> {
    const col = <T>(xs: readonly T[], f: (x: T) => unknown) => xs.map((x) => f(x) ?? null);
    return this.c.tx(async (q) => {
      if (b.seconds.length) {
        const x = b.seconds;
        await q(
          `INSERT INTO run_seconds (run_id, second, requests, ok, retried, failed, fatal, slow_downs, rate, latency_ms, in_flight)
           SELECT $1, * FROM unnest($2::bigint[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::float8[], $10::float8[], $11::int[])
           ON CONFLICT (run_id, second) DO UPDATE SET requests = run_seconds.requests + EXCLUDED.requests, ok = run_seconds.ok + EXCLUDED.ok,
             retried = run_seconds.retried + EXCLUDED.retried, failed = run_seconds.failed + EXCLUDED.failed, fatal = run_seconds.fatal + EXCLUDED.fatal,
             slow_downs = run_seconds.slow_downs + EXCLUDED.slow_downs, rate = EXCLUDED.rate, latency_ms = run_seconds.latency_ms + EXCLUDED.latency_ms,
             in_flight = GREATEST(run_seconds.in_flight, EXCLUDED.in_flight)`,
          [runId, col(x, (s) => s.second), col(x, (s) => s.requests), col(x, (s) => s.ok), col(x, (s) => s.retried), col(x, (s) => s.failed),
            col(x, (s) => s.fatal), col(x, (s) => s.slowDowns), col(x, (s) => s.rate), col(x, (s) => s.latencyMs), col(x, (s) => s.inFlight)],
        );
      }
      if (b.latency.length) {
        await q(
          `INSERT INTO run_latency (run_id, bucket, count) SELECT $1, * FROM unnest($2::int[], $3::int[])
           ON CONFLICT (run_id, bucket) DO UPDATE SET count = run_latency.count + EXCLUDED.count`,
          [runId, col(b.latency, (l) => l.bucket), col(b.latency, (l) => l.count)],
        );
      }
      if (b.codes.length) {
        await q(
          `INSERT INTO run_codes (run_id, kind, code, sub_code, count) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[])
           ON CONFLICT (run_id, kind, code, sub_code) DO UPDATE SET count = run_codes.count + EXCLUDED.count`,
          [runId, col(b.codes, (c) => c.kind), col(b.codes, (c) => c.code), col(b.codes, (c) => c.subCode), col(b.codes, (c) => c.count)],
        );
      }
      if (b.keys) {
        const k = b.keys;
        await q('DELETE FROM run_keys WHERE run_id = $1', [runId]);
        await q(
          `INSERT INTO run_keys (run_id, list, key, attempt, duration_ms, code, sub_code, reason, at)
           SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[])`,
          [runId, col(k, (x) => x.list), col(k, (x) => x.key), col(k, (x) => x.attempt), col(k, (x) => x.durationMs), col(k, (x) => x.code),
            col(k, (x) => x.subCode), col(k, (x) => x.reason), col(k, (x) => x.at)],
        );
      }
    });
  }

  async runTiming(runId: number): Promise<RunTiming> {
    const q = this.c.query;
    const seconds = await q<TimingSecond>(
      `SELECT second, requests, ok, retried, failed, fatal, slow_downs AS "slowDowns", rate, latency_ms AS "latencyMs", in_flight AS "inFlight"
       FROM run_seconds WHERE run_id = $1 ORDER BY second`, [runId],
    );
    const latency = await q<{ bucket: number; count: number }>('SELECT bucket, count FROM run_latency WHERE run_id = $1 ORDER BY bucket', [runId]);
    const codes = await q<TimingCode>('SELECT kind, code, sub_code AS "subCode", count FROM run_codes WHERE run_id = $1 ORDER BY count DESC, code, sub_code', [runId]);
    const keys = await q<TimingKey>(
      `SELECT list, key, attempt, duration_ms AS "durationMs", code, sub_code AS "subCode", reason, at FROM run_keys
       WHERE run_id = $1 ORDER BY list, CASE list WHEN 'slowest' THEN -duration_ms ELSE 0 END, at, id`, [runId],
    );
    return { seconds, latency, codes, keys };
  }
}
