import { LedgerError } from '../errors.js';
import type { BindResult, LedgerTarget, LedgerTargetBinding } from '../port.js';
import { REBOUND_CODE } from '../staging-rule.js';
import { getMeta, setMeta } from './meta.js';
import type { SqliteConnection } from './open.js';

function describeTarget(gateway: string, appId: string): string {
  return `${gateway} (app ${appId})`;
}

/**
 * The target a ledger is bound to (meta target_gateway, target_app_id). "Uploaded" in a ledger means "Alipay
 * holds it" for one gateway and app only: the same ledger pointed at another app would skip every row as
 * already there. Merchants are not part of the target: each row's key holds its merchant (meta target_merchant,
 * written by older versions, only told the migration whose rows were whose).
 */
export class SqliteTargetBinding implements LedgerTargetBinding {
  constructor(private readonly conn: SqliteConnection) {}

  /**
   * A different target is refused unless `rebind`, which marks every row held as uploaded as not sent to the
   * new target. Call it before startRun (a ledger with runs but no target was written by an older version).
   */
  bindTarget(t: LedgerTarget, o: { rebind?: boolean; dryRun?: boolean } = {}): BindResult {
    // (see also: `moved`, below: a ledger that never had a row confirmed at its target follows a new app id)
    const { db, path } = this.conn;
    const next = describeTarget(t.gateway, t.appId);
    return db.transaction((): BindResult => {
      const store = () => {
        setMeta(db, 'target_gateway', t.gateway);
        setMeta(db, 'target_app_id', t.appId);
      };
      const gateway = getMeta(db, 'target_gateway');
      const appId = getMeta(db, 'target_app_id');
      if (gateway === undefined || appId === undefined) {
        const hasRuns = db.prepare('SELECT 1 FROM runs LIMIT 1').get() !== undefined;
        if (!o.dryRun) store();
        return { state: hasRuns ? 'adopted' : 'new' };
      }
      if (gateway === t.gateway && appId === t.appId) return { state: 'same' };
      const previous = describeTarget(gateway, appId);
      // Nothing was ever confirmed uploaded there (say, a first run with a mistyped app id that the gateway
      // refused): the ledger holds nothing another target lacks, so it follows the new gateway or app id by
      // itself, its pending rows kept.
      const confirmed = db.prepare("SELECT 1 FROM records WHERE status = 'uploaded' OR uploaded_snapshot IS NOT NULL LIMIT 1").get() !== undefined;
      if (!confirmed && !o.dryRun) {
        store();
        return { state: 'moved', previous };
      }
      if (!o.rebind || o.dryRun) {
        throw new LedgerError(
          'SYNC_LEDGER_TARGET',
          `ledger ${path} records what was sent to ${previous}, not to ${next}: ` +
            `use another --ledger for this target, or pass --rebind-ledger to bind this ledger to ${next} ` +
            `(rows it holds as uploaded to ${previous}, or still pending for it, are then marked as not sent to the new target, and are sent when their files are read again)` +
            (o.rebind ? '. A dry run cannot show the plan of a rebind: run without --dry-run to rebind' : ''),
        );
      }
      store();
      const now = this.conn.now();
      const rebound = db
        .prepare(
          `UPDATE records SET status = 'failed', retryable = 0, uploaded_snapshot = NULL, uploaded_hash = NULL, uploaded_at = NULL,
             last_code = '${REBOUND_CODE}', last_sub_code = '${REBOUND_CODE}', last_reason = ?, updated_at = ? WHERE status = 'uploaded'`,
        )
        .run(`not sent to ${next} yet (ledger rebound from ${previous}): read its file again to send it`, now).changes;
      // Rows still pending (or waiting for a retry) were staged for the old target — another app's data: they
      // must not go to the new one unless a file names them again. Their bodies go too.
      db.prepare(
        `UPDATE records SET status = 'failed', retryable = 0, biz_content = NULL, last_code = '${REBOUND_CODE}', last_sub_code = '${REBOUND_CODE}',
           last_reason = ?, updated_at = ? WHERE status = 'pending' OR (status = 'failed' AND retryable = 1)`,
      ).run(`staged for ${previous}, not sent to ${next} (ledger rebound): read its file again to send it`, now);
      // What the old target holds says nothing of the new one: no row may be skipped as "unchanged" against it.
      db.prepare('UPDATE records SET uploaded_snapshot = NULL, uploaded_hash = NULL, uploaded_at = NULL WHERE uploaded_snapshot IS NOT NULL').run();
      // Nor does what was learned of its quotas.
      db.prepare('DELETE FROM quota_stops').run();
      return { state: 'rebound', previous, rebound };
    }).immediate();
  }
}
