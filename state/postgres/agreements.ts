import { beijingTime, orderKey, orderTime, supersedes, type OrderKey } from '../agreement-order.js';
import type { AgreementInput, AgreementRow, LedgerAgreements, NotificationApplied } from '../port.js';
import type { PgConnection, Query } from './connection.js';
import { toAgreementRow } from '../rows.js';

/**
 * Agreements and notifications on a shared ledger: the same rules as the SQLite adapter (state/agreement-order.ts),
 * each change in one transaction that first takes an advisory lock on the agreement's number, so two receivers
 * (or a receiver and a run) changing one agreement at once take turns, whether or not its row exists yet. A
 * notice's notify_id is inserted in the same transaction (ON CONFLICT DO NOTHING): a resend that reaches the
 * other receiver changes nothing.
 */
export class PgAgreements implements LedgerAgreements<'async'> {
  constructor(
    private readonly c: PgConnection,
    private readonly clock: () => number,
  ) {}

  upsertAgreement(a: AgreementInput, source: 'effect' | 'query' | 'notify', runId?: number): Promise<{ changed: boolean }> {
    const key = orderKey(a.status, a.fields, beijingTime(this.clock()));
    return this.c.tx(async (q) => {
      const held = await lockAgreement(q, a.agreement_no);
      await writeAgreement(q, a, source, key);
      const changed = held?.status !== a.status;
      if (changed) {
        await q('INSERT INTO agreement_history (agreement_no, status, source, run_id, applied, since) VALUES ($1, $2, $3, $4, true, $5)', [a.agreement_no, a.status, source, runId ?? null, key.since]);
      }
      return { changed };
    });
  }

  applyNotification(notifyId: string, a: AgreementInput, notifyTime?: string): Promise<NotificationApplied> {
    return this.c.tx(async (q): Promise<NotificationApplied> => {
      const held = await lockAgreement(q, a.agreement_no);
      const first = (await q('INSERT INTO notifications (notify_id, agreement_no) VALUES ($1, $2) ON CONFLICT (notify_id) DO NOTHING RETURNING 1', [notifyId, a.agreement_no])).length === 1;
      if (!first) return { result: 'resend', changed: false };
      const key = orderKey(a.status, a.fields, orderTime(notifyTime) ?? '');
      const heldKey = held && held.state_since !== null ? { since: held.state_since, told: held.state_told ?? '' } : null;
      const apply = supersedes(key, a.status, heldKey, held?.status);
      if (apply) await writeAgreement(q, a, 'notify', key);
      await q(
        `INSERT INTO agreement_history (agreement_no, status, source, run_id, applied, notify_id, notify_time, since) VALUES ($1, $2, 'notify', NULL, $3, $4, $5, $6)`,
        [a.agreement_no, a.status, apply, notifyId, notifyTime ?? null, key.since],
      );
      return { result: apply ? 'applied' : 'stale', changed: apply && held?.status !== a.status };
    });
  }

  async agreement(agreementNo: string): Promise<AgreementRow | undefined> {
    const [r] = await this.c.query<Record<string, unknown>>('SELECT * FROM agreements WHERE agreement_no = $1', [agreementNo]);
    if (!r) return undefined;
    const history = await this.c.query<AgreementRow['history'][number]>(
      'SELECT status, source, at, applied, notify_id, notify_time, since FROM agreement_history WHERE agreement_no = $1 ORDER BY id',
      [agreementNo],
    );
    return toAgreementRow(r, history);
  }
}

/** Take the agreement's turn for this transaction and read what is held of it. */
async function lockAgreement(q: Query, agreementNo: string): Promise<{ status: string; state_since: string | null; state_told: string | null } | undefined> {
  await q('SELECT pg_advisory_xact_lock(hashtext($1))', [`alipay-sync agreement ${agreementNo}`]);
  return (await q<{ status: string; state_since: string | null; state_told: string | null }>(
    'SELECT status, state_since, state_told FROM agreements WHERE agreement_no = $1', [agreementNo],
  ))[0];
}

async function writeAgreement(q: Query, a: AgreementInput, source: string, key: OrderKey): Promise<void> {
  await q(
    `INSERT INTO agreements (agreement_no, status, alipay_user_id, personal_product_code, sign_scene, fields, source, state_since, state_told,
       alipay_open_id, principal_open_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (agreement_no) DO UPDATE SET status = EXCLUDED.status,
       alipay_user_id = COALESCE(EXCLUDED.alipay_user_id, agreements.alipay_user_id),
       alipay_open_id = COALESCE(EXCLUDED.alipay_open_id, agreements.alipay_open_id),
       principal_open_id = COALESCE(EXCLUDED.principal_open_id, agreements.principal_open_id),
       personal_product_code = COALESCE(EXCLUDED.personal_product_code, agreements.personal_product_code),
       sign_scene = COALESCE(EXCLUDED.sign_scene, agreements.sign_scene), fields = EXCLUDED.fields, source = EXCLUDED.source,
       updated_at = now(), state_since = EXCLUDED.state_since, state_told = EXCLUDED.state_told`,
    [a.agreement_no, a.status, a.alipay_user_id ?? null, a.personal_product_code ?? null, a.sign_scene ?? null, JSON.stringify(a.fields), source, key.since, key.told,
      a.alipay_open_id ?? null, a.principal_open_id ?? null],
  );
}
