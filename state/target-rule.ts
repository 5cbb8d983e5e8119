import { LedgerError } from './errors.js';
import type { BindResult, SecretSource } from './port.js';

/**
 * The target rule (LedgerTargetBinding.bindTarget), pure so that every adapter binds the same way: a ledger's
 * "uploaded" means "Alipay holds it" for one gateway, app and merchant only; the same ledger pointed at another
 * app would skip every row as already there. The adapter reads what is stored, asks `decideBind`, and carries
 * the answer out in one transaction; only where the answer depends on whether any row was ever confirmed
 * uploaded (a question that may scan the table) does it ask that, and then `decideMove`.
 */

/** A merchant hash made with a secret that has since been replaced: it can no longer be compared. */
export const MERCHANT_UNKNOWN = '*';

export function describeTarget(gateway: string, appId: string, merchant: string): string {
  const who = merchant === '' ? 'no app_auth_token'
    : merchant === MERCHANT_UNKNOWN ? 'a merchant hashed under a replaced key'
    : `merchant #${merchant.slice(0, 8)}`;
  return `${gateway} (app ${appId}, ${who})`;
}

/** The meta values target_gateway, target_app_id, target_merchant as stored (undefined: never bound). */
export interface StoredTarget {
  gateway: string | undefined;
  appId: string | undefined;
  merchant: string;
}

export interface WantedTarget {
  gateway: string;
  appId: string;
  /** the keyed hash of the app_auth_token ('' without one) */
  merchant: string;
}

export interface BindOptions {
  rebind?: boolean;
  dryRun?: boolean;
  secretSource: SecretSource;
  /** the ledger's name in messages (a path, or a redacted URL and schema) */
  where: string;
}

/** done: store (when `store`) and return `result`; ask: the answer depends on whether any row was confirmed there. */
export type BindStep =
  | { kind: 'done'; result: BindResult; store: boolean }
  | { kind: 'ask-confirmed'; previous: string; next: string; held: string };

export function decideBind(s: StoredTarget, t: WantedTarget, hasRuns: boolean, o: BindOptions): BindStep {
  // A dry run that rebinds the key hashes with a secret it keeps in memory: the stored merchant cannot be compared.
  const held = o.secretSource === 'rebound-in-memory' && s.merchant !== '' ? MERCHANT_UNKNOWN : s.merchant;
  if (s.gateway === undefined || s.appId === undefined) {
    return { kind: 'done', result: { state: hasRuns ? 'adopted' : 'new' }, store: !o.dryRun };
  }
  const sameApp = s.gateway === t.gateway && s.appId === t.appId;
  if (sameApp && held === t.merchant) return { kind: 'done', result: { state: 'same' }, store: false };
  // The secret was replaced (a rebound key): every row counts as changed anyway, nothing to mark.
  if (sameApp && held === MERCHANT_UNKNOWN) return { kind: 'done', result: { state: 'adopted' }, store: !o.dryRun };
  return { kind: 'ask-confirmed', previous: describeTarget(s.gateway, s.appId, held), next: describeTarget(t.gateway, t.appId, t.merchant), held };
}

/**
 * After `ask-confirmed`. Nothing was ever confirmed uploaded there (say, a first run with a mistyped app id that
 * the gateway refused): the ledger holds nothing another target lacks, so it follows the new gateway or app id by
 * itself, its pending rows kept (`moved`). Not across merchants: pending rows hold one merchant's data. Otherwise
 * only `rebind` moves it (`rebind`: the adapter marks what it holds as not sent to the new target); else refused.
 */
export function decideMove(step: Extract<BindStep, { kind: 'ask-confirmed' }>, t: WantedTarget, confirmed: boolean, o: BindOptions): 'moved' | 'rebind' {
  if (!confirmed && step.held === t.merchant && !o.dryRun) return 'moved';
  if (!o.rebind || o.dryRun) {
    throw new LedgerError(
      'SYNC_LEDGER_TARGET',
      `ledger ${o.where} records what was sent to ${step.previous}, not to ${step.next}: ` +
        `use another --ledger for this target, or pass --rebind-ledger to bind this ledger to ${step.next} ` +
        `(rows it holds as uploaded to ${step.previous}, or still pending for it, are then marked as not sent to the new target, and are sent when their files are read again)` +
        (o.rebind ? '. A dry run cannot show the plan of a rebind: run without --dry-run to rebind' : ''),
    );
  }
  return 'rebind';
}

/** The reasons written on rows a rebind marks as not sent (REBOUND in status). */
export function reboundReasons(previous: string, next: string): { uploaded: string; pending: string } {
  return {
    uploaded: `not sent to ${next} yet (ledger rebound from ${previous}): read its file again to send it`,
    pending: `staged for ${previous}, not sent to ${next} (ledger rebound): read its file again to send it`,
  };
}
