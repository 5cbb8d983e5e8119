import type { AgreementCount, FailureGroup, LedgerReports, MerchantCount, NotificationCounts, RecordStatus, StatusTotal } from '../port.js';
import type { PgConnection } from './connection.js';

/** How a failed row is grouped, as the SQLite ledger does: its sub_code, else a dataset's own refusal of a 10000, else its code. */
const FAILURE_GROUP = `CASE WHEN last_sub_code IS NOT NULL AND last_sub_code <> '' THEN last_sub_code
  WHEN last_code = '10000' THEN 'biz_success:false' ELSE COALESCE(last_code, 'unknown') END`;

/** What `status`, run summaries and exports read from the records table (runs: runs.ts). */
export class PgReports implements Omit<LedgerReports<'async'>, 'recentRuns' | 'runInfo'> {
  constructor(private readonly c: PgConnection) {}

  agreementCounts(): Promise<AgreementCount[]> {
    return this.c.query<AgreementCount>('SELECT status, count(*) AS count FROM agreements GROUP BY status ORDER BY count DESC, status');
  }

  /** Notifications received and verified (the last day by the server's clock), and those kept as history only. */
  async notificationCounts(): Promise<NotificationCounts> {
    const [n] = await this.c.query<{ received: number; last: string | null; last_day: number; stale: number }>(
      `SELECT count(*) AS received, max(received_at) AS last, count(*) FILTER (WHERE received_at >= now() - interval '24 hours') AS last_day,
         (SELECT count(*) FROM agreement_history WHERE source = 'notify' AND NOT applied) AS stale FROM notifications`,
    );
    return { received: n?.received ?? 0, lastDay: n?.last_day ?? 0, stale: n?.stale ?? 0, lastReceivedAt: n?.last ?? null };
  }

  async runOutcomes(runId: number, dataset: string): Promise<Record<RecordStatus, number>> {
    const out: Record<RecordStatus, number> = { pending: 0, uploaded: 0, failed: 0 };
    const rows = await this.c.query<{ status: RecordStatus; n: number }>(
      'SELECT status, count(*) AS n FROM records WHERE run_id = $1 AND dataset = $2 GROUP BY status', [runId, dataset],
    );
    for (const r of rows) out[r.status] = r.n;
    return out;
  }

  /** Final state of the rows this run staged, by merchant and status. */
  runOutcomesByMerchant(runId: number, dataset: string): Promise<MerchantCount[]> {
    return this.c.query<MerchantCount>(
      'SELECT merchant, status, count(*) AS count FROM records WHERE run_id = $1 AND dataset = $2 GROUP BY merchant, status ORDER BY merchant, status',
      [runId, dataset],
    );
  }

  async failuresBySubCode(dataset?: string): Promise<FailureGroup[]> {
    const rows = await this.c.query<{ dataset: string; merchant: string; sub: string; retryable: boolean; n: number; example: string | null }>(
      `SELECT dataset, merchant, ${FAILURE_GROUP} AS sub, retryable, count(*) AS n, MIN(last_reason) AS example
       FROM records WHERE status = 'failed' ${dataset ? 'AND dataset = $1' : ''} GROUP BY dataset, merchant, sub, retryable ORDER BY n DESC, sub`,
      dataset ? [dataset] : [],
    );
    return rows.map((r) => ({ dataset: r.dataset, merchant: r.merchant, subCode: r.sub, count: r.n, example: r.example, refused: !r.retryable }));
  }

  totals(): Promise<StatusTotal[]> {
    return this.c.query<StatusTotal>('SELECT dataset, merchant, status, count(*) AS count FROM records GROUP BY dataset, merchant, status ORDER BY dataset, merchant, status');
  }

  /** The kept results of the rows uploaded with one snapshot, in staging order, read in pages (an export can be large). */
  async *sessionResults(dataset: string, snapshot: string): AsyncIterableIterator<string | null> {
    for (let after = 0; ;) {
      const page = await this.c.query<{ id: number; result: string | null }>(
        "SELECT id, result FROM records WHERE dataset = $1 AND status = 'uploaded' AND uploaded_snapshot = $2 AND id > $3 ORDER BY id LIMIT 1000",
        [dataset, snapshot, after],
      );
      for (const r of page) yield r.result;
      if (page.length < 1000) return;
      after = page[page.length - 1]!.id;
    }
  }

  /** One record's stored columns by name (rowid: its id; retryable as 0/1, as the SQLite adapter gives it). */
  async record(dataset: string, key: string, merchant = ''): Promise<Record<string, unknown> | undefined> {
    const [r] = await this.c.query<Record<string, unknown>>(
      'SELECT id AS rowid, *, retryable::int AS retryable FROM records WHERE dataset = $1 AND merchant = $3 AND key = $2', [dataset, key, merchant],
    );
    return r;
  }
}
