import type { LedgerTiming, RunTiming, RunTimingBatch, TimingCode, TimingKey, TimingSecond } from '../port.js';
import type { SqliteConnection } from './open.js';

/**
 * A run's sending in aggregates (schema: run_seconds, run_latency, run_codes, run_keys): written by the run about
 * once a second, read by its report. A ledger of an older version read without migrating (status, report are
 * read-only) has no such tables: it reads as nothing recorded.
 */
export class SqliteTiming implements LedgerTiming {
  private readonly s;

  constructor(private readonly conn: SqliteConnection) {
    this.s = conn.statements((db) => ({
      second: db.prepare(
        `INSERT INTO run_seconds (run_id, second, requests, ok, retried, failed, fatal, slow_downs, rate, latency_ms, in_flight)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, second) DO UPDATE SET requests = requests + excluded.requests, ok = ok + excluded.ok,
           retried = retried + excluded.retried, failed = failed + excluded.failed, fatal = fatal + excluded.fatal,
           slow_downs = slow_downs + excluded.slow_downs, rate = excluded.rate, latency_ms = latency_ms + excluded.latency_ms,
           in_flight = MAX(in_flight, excluded.in_flight)`,
      ),
      latency: db.prepare(
        `INSERT INTO run_latency (run_id, bucket, count) VALUES (?, ?, ?)
         ON CONFLICT (run_id, bucket) DO UPDATE SET count = count + excluded.count`,
      ),
      code: db.prepare(
        `INSERT INTO run_codes (run_id, kind, code, sub_code, count) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (run_id, kind, code, sub_code) DO UPDATE SET count = count + excluded.count`,
      ),
      dropKeys: db.prepare('DELETE FROM run_keys WHERE run_id = ?'),
      key: db.prepare('INSERT INTO run_keys (run_id, list, key, attempt, duration_ms, code, sub_code, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    }));
  }

  recordTiming(runId: number, b: RunTimingBatch): void {
    const s = this.s();
    this.conn.db.transaction(() => {
      for (const x of b.seconds) {
        s.second.run(runId, x.second, x.requests, x.ok, x.retried, x.failed, x.fatal, x.slowDowns, x.rate, x.latencyMs, x.inFlight);
      }
      for (const l of b.latency) s.latency.run(runId, l.bucket, l.count);
      for (const c of b.codes) s.code.run(runId, c.kind, c.code, c.subCode, c.count);
      if (b.keys) {
        s.dropKeys.run(runId);
        for (const k of b.keys) s.key.run(runId, k.list, k.key, k.attempt, k.durationMs, k.code, k.subCode, k.reason, k.at);
      }
    })();
  }

  runTiming(runId: number): RunTiming {
    const db = this.conn.db;
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_seconds'").get();
    if (!has) return { seconds: [], latency: [], codes: [], keys: [] };
    const seconds = db
      .prepare(
        `SELECT second, requests, ok, retried, failed, fatal, slow_downs AS slowDowns, rate, latency_ms AS latencyMs, in_flight AS inFlight
         FROM run_seconds WHERE run_id = ? ORDER BY second`,
      )
      .all(runId) as TimingSecond[];
    const latency = db.prepare('SELECT bucket, count FROM run_latency WHERE run_id = ? ORDER BY bucket').all(runId) as { bucket: number; count: number }[];
    const codes = db
      .prepare('SELECT kind, code, sub_code AS subCode, count FROM run_codes WHERE run_id = ? ORDER BY count DESC, code, sub_code')
      .all(runId) as TimingCode[];
    const keys = db
      .prepare(
        `SELECT list, key, attempt, duration_ms AS durationMs, code, sub_code AS subCode, reason, at FROM run_keys
         WHERE run_id = ? ORDER BY list, CASE list WHEN 'slowest' THEN -duration_ms ELSE 0 END, at, rowid`,
      )
      .all(runId) as TimingKey[];
    return { seconds, latency, codes, keys };
  }
}
