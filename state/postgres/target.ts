import { LedgerError } from '../errors.js';
import type { BindResult, LedgerTarget, LedgerTargetBinding } from '../port.js';
import { REBOUND_CODE } from '../staging-rule.js';
import { decideBind, decideMove, reboundReasons } from '../target-rule.js';
import type { PgConnection } from './connection.js';
import { getMeta, holdSetupLock, setMeta } from './meta.js';

/**
 * The target a ledger is bound to, as the target rule says (state/target-rule.ts), in one transaction under the
 * ledger's setup lock, so that workers binding at once agree. A rebind while other workers are running is refused:
 * it would pull their rows away under them.
 */
export class PgTargetBinding implements LedgerTargetBinding<'async'> {
  constructor(private readonly c: PgConnection) {}

  bindTarget(t: LedgerTarget, o: { rebind?: boolean; dryRun?: boolean } = {}): Promise<BindResult> {
    const c = this.c;
    const opts = { ...o, where: c.where };
    return c.tx(async (q): Promise<BindResult> => {
      await holdSetupLock(q, c.schema, 'target');
      const store = async () => {
        await setMeta(q, 'target_gateway', t.gateway);
        await setMeta(q, 'target_app_id', t.appId);
      };
      const stored = { gateway: await getMeta(q, 'target_gateway'), appId: await getMeta(q, 'target_app_id') };
      const hasRuns = (await q('SELECT 1 FROM runs LIMIT 1')).length > 0;
      const step = decideBind(stored, t, hasRuns, opts);
      if (step.kind === 'done') {
        if (step.store) await store();
        return step.result;
      }
      const confirmed = (await q("SELECT 1 FROM records WHERE status = 'uploaded' OR uploaded_snapshot IS NOT NULL LIMIT 1")).length > 0;
      const move = decideMove(step, confirmed, opts);
      if (move === 'rebind') {
        const [others] = await q<{ n: number }>('SELECT count(*) AS n FROM workers WHERE id <> $1 AND expires_at > now()', [c.worker]);
        if (others && others.n > 0) {
          throw new LedgerError('SYNC_LEDGER_BUSY', `ledger ${c.where}: ${others.n} other worker(s) are running on it; stop them before --rebind-ledger`);
        }
      }
      await store();
      if (move === 'moved') return { state: 'moved', previous: step.previous };
      const why = reboundReasons(step.previous, step.next);
      const [rebound] = await q<{ n: number }>(
        `WITH u AS (UPDATE records SET status = 'failed', retryable = false, uploaded_snapshot = NULL, uploaded_hash = NULL, uploaded_at = NULL,
           last_code = '${REBOUND_CODE}', last_sub_code = '${REBOUND_CODE}', last_reason = $1, updated_at = now() WHERE status = 'uploaded' RETURNING 1)
         SELECT count(*) AS n FROM u`,
        [why.uploaded],
      );
      await q(
        `UPDATE records SET status = 'failed', retryable = false, biz_content = NULL, last_code = '${REBOUND_CODE}', last_sub_code = '${REBOUND_CODE}',
           last_reason = $1, updated_at = now(), claimed_by = NULL, claim_expires_at = NULL
         WHERE status = 'pending' OR (status = 'failed' AND retryable)`,
        [why.pending],
      );
      await q('UPDATE records SET uploaded_snapshot = NULL, uploaded_hash = NULL, uploaded_at = NULL WHERE uploaded_snapshot IS NOT NULL');
      // Nor does what was learned of its quotas.
      await q('DELETE FROM quota_stops');
      return { state: 'rebound', previous: step.previous, rebound: rebound?.n ?? 0 };
    });
  }
}
