import { beijingTime, orderKey, orderTime, supersedes, type OrderKey } from '../agreement-order.js';
import type { AgreementInput, AgreementRow, LedgerAgreements, NotificationApplied } from '../port.js';
import type { SqliteConnection } from './open.js';

interface HistoryRow {
  status: string;
  source: string;
  at: string;
  applied: number;
  notify_id: string | null;
  notify_time: string | null;
  since: string | null;
}

/** Agreements as Alipay answered of them (effect, query), notifications (dut_user_sign/unsign), their history. */
export class SqliteAgreements implements LedgerAgreements {
  constructor(private readonly conn: SqliteConnection) {}

  /**
   * Record what Alipay answered of an agreement (an `agreements effect` or `agreements query` answer: its state
   * when asked). It is stored as it comes, and sets the order key notices are compared with (see
   * state/agreement-order.ts: its own time fields, told at the ledger's clock in Beijing time); a new agreement
   * or a new status adds a history entry.
   */
  upsertAgreement(a: AgreementInput, source: 'effect' | 'query' | 'notify', runId?: number): { changed: boolean } {
    const db = this.conn.db;
    const now = this.conn.now();
    const key = orderKey(a.status, a.fields, beijingTime(this.conn.clock()));
    return db.transaction(() => {
      const held = db.prepare('SELECT status FROM agreements WHERE agreement_no = ?').get(a.agreement_no) as { status: string } | undefined;
      this.writeAgreement(a, source, key, now);
      const changed = held?.status !== a.status;
      if (changed) {
        db.prepare('INSERT INTO agreement_history (agreement_no, status, source, run_id, at, applied, since) VALUES (?, ?, ?, ?, ?, 1, ?)')
          .run(a.agreement_no, a.status, source, runId ?? null, now, key.since);
      }
      return { changed };
    })();
  }

  private writeAgreement(a: AgreementInput, source: string, key: OrderKey, now: string): void {
    this.conn.db
      .prepare(
        `INSERT INTO agreements (agreement_no, status, alipay_user_id, alipay_open_id, principal_open_id, personal_product_code, sign_scene, fields, source, first_seen, updated_at, state_since, state_told)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (agreement_no) DO UPDATE SET status = excluded.status,
           alipay_user_id = COALESCE(excluded.alipay_user_id, alipay_user_id),
           alipay_open_id = COALESCE(excluded.alipay_open_id, alipay_open_id),
           principal_open_id = COALESCE(excluded.principal_open_id, principal_open_id),
           personal_product_code = COALESCE(excluded.personal_product_code, personal_product_code),
           sign_scene = COALESCE(excluded.sign_scene, sign_scene), fields = excluded.fields, source = excluded.source,
           updated_at = excluded.updated_at, state_since = excluded.state_since, state_told = excluded.state_told`,
      )
      .run(
        a.agreement_no, a.status, a.alipay_user_id ?? null, a.alipay_open_id ?? null, a.principal_open_id ?? null,
        a.personal_product_code ?? null, a.sign_scene ?? null,
        JSON.stringify(a.fields), source, now, now, key.since, key.told,
      );
  }

  /**
   * Apply a verified notification (dut_user_sign or dut_user_unsign) once.
   *
   * - A resend of one already received (same notify_id) changes nothing: `resend`.
   * - Otherwise the notice is ordered against the state held by its own time fields (state/agreement-order.ts):
   *   not older, it is applied (`applied`; `changed` says whether the status moved); older, the state stays
   *   (`stale`). Either way it is kept as history, with its notify_id, notify_time, the time its status began
   *   and whether it was applied.
   */
  applyNotification(notifyId: string, a: AgreementInput, notifyTime?: string): NotificationApplied {
    const db = this.conn.db;
    const now = this.conn.now();
    return db.transaction((): NotificationApplied => {
      const first = db.prepare('INSERT OR IGNORE INTO notifications (notify_id, agreement_no, received_at) VALUES (?, ?, ?)')
        .run(notifyId, a.agreement_no, now).changes === 1;
      if (!first) return { result: 'resend', changed: false };
      const key = orderKey(a.status, a.fields, orderTime(notifyTime) ?? '');
      const held = db
        .prepare('SELECT status, state_since, state_told FROM agreements WHERE agreement_no = ?')
        .get(a.agreement_no) as { status: string; state_since: string | null; state_told: string | null } | undefined;
      const heldKey = held && held.state_since !== null ? { since: held.state_since, told: held.state_told ?? '' } : null;
      const apply = supersedes(key, a.status, heldKey, held?.status);
      if (apply) this.writeAgreement(a, 'notify', key, now);
      db.prepare(
        `INSERT INTO agreement_history (agreement_no, status, source, run_id, at, applied, notify_id, notify_time, since)
         VALUES (?, ?, 'notify', NULL, ?, ?, ?, ?, ?)`,
      ).run(a.agreement_no, a.status, now, apply ? 1 : 0, notifyId, notifyTime ?? null, key.since);
      return { result: apply ? 'applied' : 'stale', changed: apply && held?.status !== a.status };
    })();
  }

  agreement(agreementNo: string): AgreementRow | undefined {
    const db = this.conn.db;
    const r = db.prepare('SELECT * FROM agreements WHERE agreement_no = ?').get(agreementNo) as Record<string, unknown> | undefined;
    if (!r) return undefined;
    const rows = db
      .prepare('SELECT status, source, at, applied, notify_id, notify_time, since FROM agreement_history WHERE agreement_no = ? ORDER BY id')
      .all(agreementNo) as HistoryRow[];
    const history = rows.map((h) => ({ ...h, applied: h.applied === 1 }));
    return {
      agreement_no: r.agreement_no as string, status: r.status as string, alipay_user_id: (r.alipay_user_id as string | null) ?? null,
      alipay_open_id: (r.alipay_open_id as string | null) ?? null, principal_open_id: (r.principal_open_id as string | null) ?? null,
      personal_product_code: (r.personal_product_code as string | null) ?? null, sign_scene: (r.sign_scene as string | null) ?? null,
      fields: JSON.parse(r.fields as string) as Record<string, unknown>, source: r.source as string, history,
      since: (r.state_since as string | null) ?? null, told: (r.state_told as string | null) ?? null,
    };
  }
}
