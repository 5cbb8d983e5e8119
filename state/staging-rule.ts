import type { RecordStatus, RetryRefused, StageCounts, SendPolicy } from './port.js';

/**
 * The staging rule: what to do with an incoming row, given what the ledger holds for its key. Pure (no I/O), so
 * every adapter applies the same rule and test/ledger-staging-rule.test.ts checks it branch by branch.
 *
 * Per key the ledger keeps the newest snapshot, as Alipay does:
 * - a new key is inserted;
 * - policy `once`: a key once uploaded is done for good (unchanged), whatever the row says now;
 * - policy `always`: a key once uploaded is sent again;
 * - older than what Alipay holds (uploaded_snapshot) → superseded; identical to it → unchanged;
 * - older than a row still to send (pending or failed, this run's or a leftover) → superseded;
 * - the same snapshot with the same content as a row this run staged → superseded (a duplicate line);
 * - the same snapshot with the same content as a row Alipay refused for its content (failed, not retryable) →
 *   still refused: not sent again (it would be refused again), only noted as seen by this run; unless the
 *   operator asks for it (`--retry-failed`, for every such row or those of one sub_code): then it is restaged;
 * - otherwise the row is restaged: it replaces a row of this run (which then counts as superseded instead of
 *   staged), takes over a leftover of an earlier run (resume, retry), or is a newer or changed snapshot of what
 *   Alipay holds.
 */

/**
 * The code of rows a rebind marked as not sent to the new target (state/sqlite/target.ts): failed, but not
 * refused by anyone: their rows are sent when read again.
 */
export const REBOUND_CODE = 'REBOUND';

/** The fields of the row the ledger holds for the key (the columns of `records`). */
export interface HeldRecord {
  status: RecordStatus;
  snapshot: string;
  hash: string;
  run_id: number;
  uploaded_snapshot: string | null;
  uploaded_hash: string | null;
  /** 1: failed only because of gateway trouble (tried again by itself); 0: refused for its content */
  retryable: number;
  /** the sub_code (else the code) of its last answer: what `--retry-failed --sub-code X` matches */
  failure_code: string | null;
}

/** The incoming row: its snapshot and its content hash (LedgerPort.hash of its biz_content). */
export interface IncomingRecord {
  snapshot: string;
  hash: string;
}

/**
 * insert: a new key; restage: overwrite the held row with the incoming one; refused: the held (failed) row stays
 * as it is, noted as this run's (its run, file and line); superseded / unchanged: write nothing.
 */
export type StageAction = 'insert' | 'restage' | 'refused' | 'superseded' | 'unchanged';

/** Which branch of the rule decided (for tests and for reading the rule). */
export type StageRuleBranch =
  | 'new-key'
  | 'once-uploaded'
  | 'always-uploaded'
  | 'older-than-alipay'
  | 'same-as-alipay'
  | 'older-than-pending'
  | 'duplicate-in-run'
  | 'still-refused'
  | 'retry-refused'
  | 'replaces-own'
  | 'takes-over-leftover'
  | 'newer-or-changed';

export interface StageDecision {
  action: StageAction;
  branch: StageRuleBranch;
  /** what to add to the batch's counts (replaces-own: staged +1 −1, superseded +1) */
  counts: Readonly<StageCounts>;
  /** which row lost, for the ledger's list of superseded rows: the incoming one, or (replaces-own) the held one */
  loser?: 'incoming' | 'held';
}

function decision(action: StageAction, branch: StageRuleBranch, staged: number, superseded: number, unchanged: number, refused = 0): StageDecision {
  const loser = superseded ? { loser: action === 'restage' ? ('held' as const) : ('incoming' as const) } : {};
  return Object.freeze({ action, branch, counts: Object.freeze({ staged, superseded, unchanged, refused }), ...loser });
}

// One frozen object per branch: staging a migration calls the rule per row, and allocates nothing for it.
const NEW_KEY = decision('insert', 'new-key', 1, 0, 0);
const ONCE_UPLOADED = decision('unchanged', 'once-uploaded', 0, 0, 1);
const ALWAYS_UPLOADED = decision('restage', 'always-uploaded', 1, 0, 0);
const OLDER_THAN_ALIPAY = decision('superseded', 'older-than-alipay', 0, 1, 0);
const SAME_AS_ALIPAY = decision('unchanged', 'same-as-alipay', 0, 0, 1);
const OLDER_THAN_PENDING = decision('superseded', 'older-than-pending', 0, 1, 0);
const DUPLICATE_IN_RUN = decision('superseded', 'duplicate-in-run', 0, 1, 0);
const REPLACES_OWN = decision('restage', 'replaces-own', 0, 1, 0);
const TAKES_OVER_LEFTOVER = decision('restage', 'takes-over-leftover', 1, 0, 0);
const STILL_REFUSED = decision('refused', 'still-refused', 0, 0, 0, 1);
const RETRY_REFUSED = decision('restage', 'retry-refused', 1, 0, 0);
const NEWER_OR_CHANGED = decision('restage', 'newer-or-changed', 1, 0, 0);

export function decideStage(
  held: HeldRecord | undefined, incoming: IncomingRecord, runId: number, policy: SendPolicy, retry: RetryRefused | null = null,
): StageDecision {
  if (!held) return NEW_KEY;
  if (held.status === 'uploaded') {
    if (policy === 'once') return ONCE_UPLOADED;
    if (policy === 'always') return ALWAYS_UPLOADED;
  }
  if (held.uploaded_snapshot !== null) {
    if (incoming.snapshot < held.uploaded_snapshot) return OLDER_THAN_ALIPAY;
    // Alipay holds exactly this. If a newer row is staged meanwhile it wins anyway.
    if (incoming.snapshot === held.uploaded_snapshot && incoming.hash === held.uploaded_hash) return SAME_AS_ALIPAY;
  }
  if (held.status === 'uploaded') return NEWER_OR_CHANGED;
  // Still to send (pending, or failed): this run's row, or a leftover of an earlier run (which is newer, and still
  // wanted, when the incoming row is older).
  if (incoming.snapshot < held.snapshot) return OLDER_THAN_PENDING;
  const mine = held.run_id === runId;
  const same = incoming.snapshot === held.snapshot && incoming.hash === held.hash;
  if (!mine) {
    if (!same || held.status !== 'failed' || held.retryable || held.failure_code === REBOUND_CODE) return TAKES_OVER_LEFTOVER;
    // Refused for its content, and the content is unchanged: sent again only when the operator asks.
    return retry && (retry.subCode === undefined || retry.subCode === held.failure_code) ? RETRY_REFUSED : STILL_REFUSED;
  }
  if (same) return DUPLICATE_IN_RUN;
  return REPLACES_OWN;
}

/** Add a decision's counts to a batch's. */
export function addCounts(into: StageCounts, d: StageDecision): void {
  into.staged += d.counts.staged;
  into.superseded += d.counts.superseded;
  into.unchanged += d.counts.unchanged;
  into.refused += d.counts.refused;
}
