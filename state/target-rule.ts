import { LedgerError } from './errors.js';
import type { BindResult } from './port.js';

/**
 * The target rule (LedgerTargetBinding.bindTarget), pure so that every adapter binds the same way: a ledger's
 * "uploaded" means "Alipay holds it" for one gateway and app only; the same ledger pointed at another app would
 * skip every row as already there. (Merchants are not part of the target: each row's key holds its merchant.)
 * The adapter reads what is stored, asks `decideBind`, and carries the answer out in one transaction; only where
 * the answer depends on whether any row was ever confirmed uploaded (a question that may scan the table) does it
 * ask that, and then `decideMove`.
 */

/** A merchant hash made with a secret that has since been replaced: it can no longer be compared. */
export const MERCHANT_UNKNOWN = '*';

/** A rebound key makes merchants' ids (keyed hashes of their tokens) incomparable: their rows still to send are marked so. */
export const MERCHANT_REBOUND_REASON = 'staged for a merchant under the replaced app private key: read its file again to send it';

export function describeTarget(gateway: string, appId: string): string {
  return `${gateway} (app ${appId})`;
}

/** The meta values target_gateway, target_app_id as stored (undefined: never bound). */
export interface StoredTarget {
  gateway: string | undefined;
  appId: string | undefined;
}

export interface WantedTarget {
  gateway: string;
  appId: string;
}

export interface BindOptions {
  rebind?: boolean;
  dryRun?: boolean;
  /** the ledger's name in messages (a path, or a redacted URL and schema) */
  where: string;
}

/** done: store (when `store`) and return `result`; ask: the answer depends on whether any row was confirmed there. */
export type BindStep =
  | { kind: 'done'; result: BindResult; store: boolean }
  | { kind: 'ask-confirmed'; previous: string; next: string };

export function decideBind(s: StoredTarget, t: WantedTarget, hasRuns: boolean, o: BindOptions): BindStep {
  if (s.gateway === undefined || s.appId === undefined) {
    return { kind: 'done', result: { state: hasRuns ? 'adopted' : 'new' }, store: !o.dryRun };
  }
  if (s.gateway === t.gateway && s.appId === t.appId) return { kind: 'done', result: { state: 'same' }, store: false };
  return { kind: 'ask-confirmed', previous: describeTarget(s.gateway, s.appId), next: describeTarget(t.gateway, t.appId) };
}

/**
 * After `ask-confirmed`. Nothing was ever confirmed uploaded there (say, a first run with a mistyped app id that
 * the gateway refused): the ledger holds nothing another target lacks, so it follows the new gateway or app id by
 * itself, its pending rows kept (`moved`). Otherwise only `rebind` moves it (`rebind`: the adapter marks what it
 * holds as not sent to the new target); else refused.
 */
export function decideMove(step: Extract<BindStep, { kind: 'ask-confirmed' }>, confirmed: boolean, o: BindOptions): 'moved' | 'rebind' {
  if (!confirmed && !o.dryRun) return 'moved';
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
