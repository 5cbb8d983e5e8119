import type { BindResult, LedgerTarget, LedgerTargetBinding } from '../port.js';
import { REBOUND_CODE } from '../staging-rule.js';
import { decideBind, decideMove, reboundReasons } from '../target-rule.js';
import { getMeta, setMeta } from './meta.js';
import type { SqliteConnection } from './open.js';

/**
 * The target a ledger is bound to (meta target_gateway, target_app_id), as the target rule (state/target-rule.ts)
 * decides, in one BEGIN IMMEDIATE transaction. Merchants are not part of the target: each row's key holds its
 * merchant (meta target_merchant, written by older versions, only told the migration whose rows were whose).
 */
export class SqliteTargetBinding implements LedgerTargetBinding {
  constructor(private readonly conn: SqliteConnection) {}

  /**
   * A different target is refused unless `rebind`, which marks every row held as uploaded as not sent to the
   * new target. Call it before startRun (a ledger with runs but no target was written by an older version).
   */
  bindTarget(t: LedgerTarget, o: { rebind?: boolean; dryRun?: boolean } = {}): BindResult {
    const { db, path } = this.conn;
    const opts = { ...o, where: path };
    return db.transaction((): BindResult => {
      const store = () => {
        setMeta(db, 'target_gateway', t.gateway);
        setMeta(db, 'target_app_id', t.appId);
      };
      const stored = { gateway: getMeta(db, 'target_gateway'), appId: getMeta(db, 'target_app_id') };
      const hasRuns = db.prepare('SELECT 1 FROM runs LIMIT 1').get() !== undefined;
      const step = decideBind(stored, t, hasRuns, opts);
      if (step.kind === 'done') {
        if (step.store) store();
        return step.result;
      }
      const confirmed = db.prepare("SELECT 1 FROM records WHERE status = 'uploaded' OR uploaded_snapshot IS NOT NULL LIMIT 1").get() !== undefined;
      const move = decideMove(step, confirmed, opts);
      store();
      if (move === 'moved') return { state: 'moved', previous: step.previous };
      const now = this.conn.now();
      const why = reboundReasons(step.previous, step.next);
      const rebound = db
        .prepare(
          `UPDATE records SET status = 'failed', retryable = 0, uploaded_snapshot = NULL, uploaded_hash = NULL, uploaded_at = NULL,
             last_code = '${REBOUND_CODE}', last_sub_code = '${REBOUND_CODE}', last_reason = ?, updated_at = ? WHERE status = 'uploaded'`,
        )
        .run(why.uploaded, now).changes;
      // Rows still pending (or waiting for a retry) were staged for the old target — another app's data: they
      // must not go to the new one unless a file names them again. Their bodies go too.
      db.prepare(
        `UPDATE records SET status = 'failed', retryable = 0, biz_content = NULL, last_code = '${REBOUND_CODE}', last_sub_code = '${REBOUND_CODE}',
           last_reason = ?, updated_at = ? WHERE status = 'pending' OR (status = 'failed' AND retryable = 1)`,
      ).run(why.pending, now);
      // What the old target holds says nothing of the new one: no row may be skipped as "unchanged" against it.
      db.prepare('UPDATE records SET uploaded_snapshot = NULL, uploaded_hash = NULL, uploaded_at = NULL WHERE uploaded_snapshot IS NOT NULL').run();
      // Nor does what was learned of its quotas.
      db.prepare('DELETE FROM quota_stops').run();
      return { state: 'rebound', previous: step.previous, rebound };
    }).immediate();
  }
}
