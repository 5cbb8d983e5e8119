import type { FailedRevived, LedgerStaging, RejectRecord, RetryRefused, StageCounts, SendPolicy, StageRow } from '../port.js';
import { addCounts, decideStage, type HeldRecord, type StageDecision } from '../staging-rule.js';
import type { SqliteConnection } from './open.js';
import { recordsWhere } from '../rows-filter.js';

interface ExistingRow extends HeldRecord {
  rowid: number;
  file: string | null;
  line: number | null;
}

/** Staging rows read from files: the newest snapshot per key (state/staging-rule.ts), rejects, the plan. */
export class SqliteStaging implements Omit<LedgerStaging, 'stagingDone'> {
  private readonly s;
  /** a moving estimate of the share of new keys among the rows staged lately */
  private newShare = 0.5;

  constructor(
    private readonly conn: SqliteConnection,
    private readonly hash: (text: string) => string,
  ) {
    this.s = conn.statements((db) => ({
      existing: db.prepare(
        `SELECT rowid, status, snapshot, hash, run_id, uploaded_snapshot, uploaded_hash, retryable,
           COALESCE(last_sub_code, last_code) AS failure_code, file, line FROM records WHERE dataset = ? AND merchant = ? AND key = ?`,
      ),
      insert: db.prepare(
        `INSERT INTO records (dataset, merchant, key, status, snapshot, hash, biz_content, run_id, file, line, updated_at)
         VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dataset, merchant, key) DO NOTHING`,
      ),
      restage: db.prepare(
        `UPDATE records SET status = 'pending', snapshot = ?, hash = ?, biz_content = ?, run_id = ?, file = ?, line = ?,
           attempts = 0, retryable = 0, updated_at = ? WHERE rowid = ?`,
      ),
      // still refused: the row stays failed as it is, now this run's (where it was read this time)
      refused: db.prepare('UPDATE records SET run_id = ?, file = ?, line = ?, updated_at = ? WHERE rowid = ?'),
      reject: db.prepare('INSERT INTO rejects (run_id, dataset, file, line, field, reason) VALUES (?, ?, ?, ?, ?, ?)'),
      superseded: db.prepare('INSERT INTO superseded (run_id, dataset, merchant, key, snapshot, file, line, kept_snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      adopt: db.prepare('UPDATE records SET key = ? WHERE dataset = ? AND merchant = ? AND key = ? AND NOT EXISTS (SELECT 1 FROM records WHERE dataset = ? AND merchant = ? AND key = ?)'),
      adoptAttempts: db.prepare('UPDATE attempts SET key = ? WHERE dataset = ? AND merchant = ? AND key = ?'),
      adoptSuperseded: db.prepare('UPDATE superseded SET key = ? WHERE dataset = ? AND merchant = ? AND key = ?'),
      adoptRunKeys: db.prepare('UPDATE run_keys SET key = ? WHERE key = ? AND run_id IN (SELECT id FROM runs WHERE dataset = ?)'),
    }));
  }

  private noteNew(isNew: boolean): void {
    this.newShare = this.newShare * 0.99 + (isNew ? 0.01 : 0);
  }

  /** Stage a batch in one transaction, each row as decideStage says; the rows that lose are listed as superseded. */
  stage(runId: number, dataset: string, rows: readonly StageRow[], policy: SendPolicy = 'snapshot', retry: RetryRefused | null = null): StageCounts {
    const s = this.s();
    const counts: StageCounts = { superseded: 0, unchanged: 0, staged: 0, refused: 0 };
    const now = this.conn.now();
    this.conn.db.transaction(() => {
      for (const r of rows) {
        const merchant = r.merchant ?? '';
        if (r.formerKey !== undefined && s.adopt.run(r.key, dataset, merchant, r.formerKey, dataset, merchant, r.key).changes === 1) {
          s.adoptAttempts.run(r.key, dataset, merchant, r.formerKey);
          s.adoptSuperseded.run(r.key, dataset, merchant, r.formerKey);
          s.adoptRunKeys.run(r.key, r.formerKey, dataset);
        }
        const hash = this.hash(r.bizContent);
        const incoming = { snapshot: r.snapshot, hash };
        // A first migration is almost all new keys: try the insert first and look only on a conflict. A rerun is
        // almost all known keys: look first. Which way goes by what the previous rows were.
        let held: ExistingRow | undefined;
        if (this.newShare > 0.5) {
          if (s.insert.run(dataset, merchant, r.key, r.snapshot, hash, r.bizContent, runId, r.file, r.line, now).changes === 1) {
            addCounts(counts, decideStage(undefined, incoming, runId, policy)); // a new key: inserted, as the rule says
            this.noteNew(true);
            continue;
          }
          held = s.existing.get(dataset, merchant, r.key) as ExistingRow;
        } else {
          held = s.existing.get(dataset, merchant, r.key) as ExistingRow | undefined;
        }
        this.noteNew(held === undefined);
        const d = decideStage(held, incoming, runId, policy, retry);
        if (d.loser) this.noteSuperseded(runId, dataset, r, held!, d);
        if (d.action === 'insert') s.insert.run(dataset, merchant, r.key, r.snapshot, hash, r.bizContent, runId, r.file, r.line, now);
        else if (d.action === 'restage') s.restage.run(r.snapshot, hash, r.bizContent, runId, r.file, r.line, now, held!.rowid);
        else if (d.action === 'refused') s.refused.run(runId, r.file, r.line, now, held!.rowid);
        addCounts(counts, d);
      }
    })();
    return counts;
  }

  /** The row that lost (the incoming one, or the held row this run had staged), with the snapshot that won. */
  private noteSuperseded(runId: number, dataset: string, incoming: StageRow, held: ExistingRow, d: StageDecision): void {
    const kept = d.branch === 'older-than-alipay' ? held.uploaded_snapshot ?? held.snapshot : held.snapshot;
    const merchant = incoming.merchant ?? '';
    if (d.loser === 'held') this.s().superseded.run(runId, dataset, merchant, incoming.key, held.snapshot, held.file, held.line, incoming.snapshot);
    else this.s().superseded.run(runId, dataset, merchant, incoming.key, incoming.snapshot, incoming.file, incoming.line, kept);
  }

  addRejects(runId: number, dataset: string, rejects: readonly RejectRecord[]): void {
    const s = this.s();
    this.conn.db.transaction(() => {
      for (const r of rejects) s.reject.run(runId, dataset, r.file, r.line, r.field, r.reason);
    })();
  }

  /**
   * Rows that failed only because the gateway was in trouble get another chance in the next run, where their
   * request body was kept (rows with personal data keep none: they come back when their file is read again).
   */
  reviveRetryable(dataset: string): number {
    return this.conn.db
      .prepare("UPDATE records SET status = 'pending', retryable = 0, attempts = 0, updated_at = ? WHERE dataset = ? AND status = 'failed' AND retryable = 1 AND biz_content IS NOT NULL")
      .run(this.conn.now(), dataset).changes;
  }

  /**
   * `alipay-sync retry`: failed rows (refused or given up on) whose request body the ledger kept become pending
   * again; the files of those without one (personal data: never kept) are named, to be read again.
   */
  reviveFailed(dataset: string, o: { subCode?: string; key?: string } = {}): FailedRevived {
    const { sql, params } = recordsWhere({ dataset, statuses: ['failed'], ...o });
    const db = this.conn.db;
    return db.transaction(() => {
      const revived = db
        .prepare(`UPDATE records SET status = 'pending', retryable = 0, attempts = 0, updated_at = ? WHERE ${sql} AND biz_content IS NOT NULL`)
        .run(this.conn.now(), ...params).changes;
      const withoutBody = db
        .prepare(`SELECT file, COUNT(*) AS rows FROM records WHERE ${sql} AND biz_content IS NULL GROUP BY file ORDER BY file`)
        .all(...params) as { file: string | null; rows: number }[];
      return { revived, withoutBody };
    })();
  }

  stagedPlan(runId: number, dataset: string): { new: number; changed: number } {
    const row = this.conn.db
      .prepare(
        `SELECT SUM(uploaded_snapshot IS NULL) AS fresh, SUM(uploaded_snapshot IS NOT NULL) AS changed
         FROM records WHERE run_id = ? AND dataset = ? AND status = 'pending'`,
      )
      .get(runId, dataset) as { fresh: number | null; changed: number | null };
    return { new: row.fresh ?? 0, changed: row.changed ?? 0 };
  }

  countPending(dataset: string): number {
    return (this.conn.db.prepare("SELECT COUNT(*) AS n FROM records WHERE dataset = ? AND status = 'pending'").get(dataset) as { n: number }).n;
  }

  /** The merchants with rows to send, and how many each ('' for rows without an app_auth_token), in id order. */
  pendingByMerchant(dataset: string): { merchant: string; count: number }[] {
    return this.conn.db
      .prepare("SELECT merchant, COUNT(*) AS count FROM records WHERE dataset = ? AND status = 'pending' GROUP BY merchant ORDER BY merchant")
      .all(dataset) as { merchant: string; count: number }[];
  }

  /**
   * Forget the pending rows of a dataset that belong to another export session than `snapshot`: questions an
   * abandoned (interrupted, not continued) export staged and never asked. They are asked again when a file
   * names them; sent now, their answers would land in an export that did not ask for them.
   */
  dropPendingOutside(dataset: string, snapshot: string): number {
    return this.conn.db.prepare("DELETE FROM records WHERE dataset = ? AND status = 'pending' AND snapshot <> ?").run(dataset, snapshot).changes;
  }
}
