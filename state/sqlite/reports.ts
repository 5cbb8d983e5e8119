import type { AgreementCount, FailureGroup, LedgerReports, MerchantCount, NotificationCounts, RecordStatus, StatusTotal } from '../port.js';
import type { SqliteConnection } from './open.js';

/**
 * How a failed row is grouped: by the gateway's sub_code, else its code; a row refused although the answer was
 * 10000 (the dataset's own success test said no: worker contracts' `biz_success: false`) is not a "10000"
 * failure, and is named for what refused it.
 */
const FAILURE_GROUP = `CASE WHEN last_sub_code IS NOT NULL AND last_sub_code <> '' THEN last_sub_code
  WHEN last_code = '10000' THEN 'biz_success:false' ELSE COALESCE(last_code, 'unknown') END`;

/** What `status`, run summaries and exports read from the records table (runs: runs.ts). */
export class SqliteReports implements Omit<LedgerReports, 'recentRuns' | 'runInfo'> {
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
    const sql = `SELECT dataset, ${this.m} AS merchant, ${FAILURE_GROUP} AS sub, retryable, COUNT(*) AS n, MIN(last_reason) AS example
       FROM records WHERE status = 'failed' ${dataset ? 'AND dataset = ?' : ''} GROUP BY dataset, 2, sub, retryable ORDER BY n DESC`;
    const rows = (dataset ? db.prepare(sql).all(dataset) : db.prepare(sql).all()) as {
      dataset: string; merchant: string; sub: string; retryable: number; n: number; example: string | null;
    }[];
    return rows.map((r) => ({ dataset: r.dataset, merchant: r.merchant, subCode: r.sub, count: r.n, example: r.example, refused: r.retryable === 0 }));
  }

  totals(): StatusTotal[] {
    return this.conn.db
      .prepare(`SELECT dataset, ${this.m} AS merchant, status, COUNT(*) AS count FROM records GROUP BY dataset, 2, status ORDER BY dataset, 2, status`)
      .all() as StatusTotal[];
  }

  agreementCounts(): AgreementCount[] {
    return this.conn.db.prepare('SELECT status, COUNT(*) AS count FROM agreements GROUP BY status ORDER BY count DESC, status').all() as AgreementCount[];
  }

  notificationCounts(): NotificationCounts {
    const db = this.conn.db;
    const dayAgo = new Date(this.conn.clock() - 24 * 3600_000).toISOString();
    const n = db.prepare('SELECT COUNT(*) AS received, MAX(received_at) AS last, SUM(received_at >= ?) AS lastDay FROM notifications').get(dayAgo) as {
      received: number; last: string | null; lastDay: number | null;
    };
    let stale = 0;
    try {
      stale = db.prepare("SELECT COUNT(*) FROM agreement_history WHERE source = 'notify' AND applied = 0").pluck().get() as number;
    } catch {
      // a ledger of an older version, read without migrating: every notice it kept was applied
    }
    return { received: n.received, lastDay: n.lastDay ?? 0, stale, lastReceivedAt: n.last };
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
