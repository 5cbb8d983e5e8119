import type { AttemptRecord, LedgerSending, PendingRecord, ResultRecord } from '../port.js';
import type { SqliteConnection } from './open.js';

/**
 * Claiming pending rows and recording what the gateway answered. The run lock makes this run the only sender,
 * so a claim is a cursor over rowids (no lease), and a result is one UPDATE of the row.
 */
export class SqliteSending implements LedgerSending {
  private readonly s;

  constructor(private readonly conn: SqliteConnection) {
    this.s = conn.statements((db) => ({
      claim: db.prepare(
        `SELECT rowid, run_id, merchant, key, snapshot, biz_content, attempts, file, line FROM records
         WHERE dataset = ? AND status = 'pending' AND rowid > ? ORDER BY rowid LIMIT ?`,
      ),
      claimOf: db.prepare(
        `SELECT rowid, run_id, merchant, key, snapshot, biz_content, attempts, file, line FROM records
         WHERE dataset = ? AND merchant = ? AND status = 'pending' AND rowid > ? ORDER BY rowid LIMIT ?`,
      ),
      uploaded: db.prepare(
        `UPDATE records SET status = 'uploaded', biz_content = NULL, attempts = ?, retryable = 0, last_code = ?, last_sub_code = ?,
           last_sub_msg = ?, last_reason = ?, last_run_id = ?, uploaded_snapshot = snapshot, uploaded_hash = hash,
           uploaded_at = ?, result = ?, last_trace_id = ?, updated_at = ? WHERE rowid = ?`,
      ),
      outcome: db.prepare(
        `UPDATE records SET status = ?, biz_content = CASE WHEN ? THEN biz_content ELSE NULL END, attempts = ?, retryable = ?, last_code = ?,
           last_sub_code = ?, last_sub_msg = ?, last_reason = ?, last_run_id = ?, result = COALESCE(?, result), last_trace_id = ?,
           updated_at = ? WHERE rowid = ?`,
      ),
      attempt: db.prepare(
        `INSERT INTO attempts (run_id, dataset, merchant, key, attempt, at, kind, code, sub_code, duration_ms, trace_id, snapshot)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    }));
  }

  /**
   * Pending rows after `afterRowid`, oldest first (of one merchant when `merchant` is given); the caller walks the
   * cursor so each row is claimed once per run.
   */
  claimPending(dataset: string, afterRowid: number, limit: number, merchant?: string): PendingRecord[] {
    const s = this.s();
    return (merchant === undefined ? s.claim.all(dataset, afterRowid, limit) : s.claimOf.all(dataset, merchant, afterRowid, limit)) as PendingRecord[];
  }

  recordAttempt(a: AttemptRecord): void {
    this.s().attempt.run(
      a.runId, a.dataset, a.merchant ?? '', a.key, a.attempt, this.conn.now(), a.kind, a.code ?? null, a.subCode ?? null, a.durationMs ?? null,
      a.traceId ?? null, a.snapshot ?? null,
    );
  }

  /** Record several outcomes in one transaction (group commit: one WAL append for all of them). */
  recordResults(items: readonly { result: ResultRecord; attempt?: AttemptRecord | undefined }[]): void {
    this.conn.db.transaction(() => {
      for (const it of items) this.writeResult(it.result, it.attempt);
    })();
  }

  /** Record a row's final outcome for this run, with its last attempt, in one transaction. */
  recordResult(r: ResultRecord, attempt?: AttemptRecord): void {
    this.conn.db.transaction(() => this.writeResult(r, attempt))();
  }

  private writeResult(r: ResultRecord, attempt: AttemptRecord | undefined): void {
    const s = this.s();
    const now = this.conn.now();
    if (attempt) this.recordAttempt(attempt);
    if (r.status === 'uploaded') {
      s.uploaded.run(
        r.attempts, r.code ?? null, r.subCode ?? null, r.subMsg ?? null, r.reason ?? null, r.runId, now, r.result ?? null, r.traceId ?? null, now, r.rowid,
      );
    } else {
      // The biz_content is kept only where the row will be sent again without re-reading its file.
      const keep = r.status === 'pending' || (r.keepBizContent ?? Boolean(r.retryable)) ? 1 : 0;
      s.outcome.run(
        r.status, keep, r.attempts, r.retryable ? 1 : 0, r.code ?? null, r.subCode ?? null, r.subMsg ?? null,
        r.reason ?? null, r.runId, r.result ?? null, r.traceId ?? null, now, r.rowid,
      );
    }
  }
}
