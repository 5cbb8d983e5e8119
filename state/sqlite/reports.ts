import type { FailureGroup, LedgerReports, MerchantCount, RecordStatus, StatusTotal } from '../port.js';
import type { SqliteConnection } from './open.js';

/** What `status`, run summaries and exports read from the records table (runs: runs.ts). */
export class SqliteReports implements Omit<LedgerReports, 'recentRuns'> {
  /** the merchant of a row as SQL: its column, or none in a read-only ledger of an older version */
  private readonly m: string;

  constructor(private readonly conn: SqliteConnection) {
    this.m = conn.has('records', 'merchant') ? 'merchant' : "''";
  }

  /** Final state of the rows this run staged, by status. */
  runOutcomes(runId: number, dataset: string): Record<RecordStatus, number> {
    const out: Record<RecordStatus, number> = { pending: 0, uploaded: 0, failed: 0 };
    const rows = this.conn.db
      .prepare('SELECT status, COUNT(*) AS n FROM records WHERE run_id = ? AND dataset = ? GROUP BY status')
      .all(runId, dataset) as { status: RecordStatus; n: number }[];
    for (const r of rows) out[r.status] = r.n;
    return out;
  }

  /** Final state of the rows this run staged, by merchant and status. */
  runOutcomesByMerchant(runId: number, dataset: string): MerchantCount[] {
    return this.conn.db
      .prepare(`SELECT ${this.m} AS merchant, status, COUNT(*) AS count FROM records WHERE run_id = ? AND dataset = ? GROUP BY 1, status ORDER BY 1, status`)
      .all(runId, dataset) as MerchantCount[];
  }

  /** Rows currently failed, grouped by the gateway's sub_code (or local code), most frequent first. */
  failuresBySubCode(dataset?: string): FailureGroup[] {
    const db = this.conn.db;
    const sql = `SELECT dataset, ${this.m} AS merchant, COALESCE(last_sub_code, last_code, 'unknown') AS sub, COUNT(*) AS n, MIN(last_reason) AS example
       FROM records WHERE status = 'failed' ${dataset ? 'AND dataset = ?' : ''} GROUP BY dataset, 2, sub ORDER BY n DESC`;
    const rows = (dataset ? db.prepare(sql).all(dataset) : db.prepare(sql).all()) as {
      dataset: string; merchant: string; sub: string; n: number; example: string | null;
    }[];
    return rows.map((r) => ({ dataset: r.dataset, merchant: r.merchant, subCode: r.sub, count: r.n, example: r.example }));
  }

  totals(): StatusTotal[] {
    return this.conn.db
      .prepare(`SELECT dataset, ${this.m} AS merchant, status, COUNT(*) AS count FROM records GROUP BY dataset, 2, status ORDER BY dataset, 2, status`)
      .all() as StatusTotal[];
  }

  /**
   * The kept results of the rows uploaded with one snapshot, in the order they were first staged: for datasets
   * that ask again every run, the snapshot is the export session, so these are the answers of a whole export,
   * across the interrupted runs it took. Iterated, not loaded: an export can hold millions of answers.
   */
  *sessionResults(dataset: string, snapshot: string): IterableIterator<string | null> {
    const rows = this.conn.db
      .prepare("SELECT result FROM records WHERE dataset = ? AND status = 'uploaded' AND uploaded_snapshot = ? ORDER BY rowid")
      .pluck()
      .iterate(dataset, snapshot) as IterableIterator<string | null>;
    yield* rows;
  }

  /** Look up one record (tests, status of a key) of one merchant ('' for rows without an app_auth_token). */
  record(dataset: string, key: string, merchant = ''): Record<string, unknown> | undefined {
    return this.conn.db.prepare(`SELECT rowid, * FROM records WHERE dataset = ? AND ${this.m} = ? AND key = ?`).get(dataset, merchant, key) as Record<string, unknown> | undefined;
  }
}
