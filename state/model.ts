/**
 * The data the ledger port exchanges (state/port.ts): rows staged, claimed and answered, runs, agreements, the
 * lock and the target. Plain values, the same for every adapter; state/ledger.js re-exports them all.
 */

export type * from './rows-model.js';
export type * from './timing-model.js';
export type * from './rates-model.js';
import type { RunSettings } from './timing-model.js';

/** What is known of a key: pending (to send), uploaded (Alipay holds it), failed (refused, or given up). */
export type RecordStatus = 'pending' | 'uploaded' | 'failed';

/**
 * The merchant a row is sent for: a stable id (the ledger's keyed hash of its app_auth_token, never the token),
 * or '' for rows sent without an app_auth_token. Part of every record's key: the same entity under two
 * merchants is two rows.
 */
export type MerchantId = string;

export interface StageRow {
  /** '' when the row is sent without an app_auth_token */
  merchant?: MerchantId;
  key: string;
  snapshot: string;
  /** biz_content text: kept only while the row still has to be sent */
  bizContent: string;
  file: string;
  line: number;
  /**
   * The key an older version stored this row under (agreement queries hashed every key before 0.2.1, user ids and
   * open ids too): where only that one is held, it is renamed to `key` first, so the row's history (and an
   * unfinished export's answers) carries over instead of the row counting as new.
   */
  formerKey?: string;
}

/** One batch of rows read from one file, as the pipeline hands it to a stager: columnar (arrays of strings clone
 * between threads faster than arrays of row objects; joined into one string, or one transferred buffer, no cheaper). */
export interface StageBatch {
  file: string;
  /** each row's merchant ('' for none); absent when no row of the batch has one */
  merchants?: string[];
  keys: string[];
  snapshots: string[];
  bizContents: string[];
  lines: number[];
  rejects: RejectRecord[];
  /** StageRow.formerKey of each row ('' for none), for datasets whose keys an older version stored otherwise */
  formerKeys?: string[];
}

/** What staging did with the rows of one batch (see LedgerStaging.stage and state/staging-rule.ts). */
export interface StageCounts {
  /** older than the snapshot Alipay already holds, or than another row of this run: never sent */
  superseded: number;
  /** identical to what Alipay already holds: never sent */
  unchanged: number;
  /** staged to be sent (a later row of the same run may still supersede it) */
  staged: number;
  /** refused by Alipay for their content before, and unchanged since: not sent again (still failed) */
  refused: number;
}

/**
 * Send rows Alipay refused for their content again although they are unchanged (`--retry-failed`): every such
 * row, or only those whose last answer had this sub_code (else code).
 */
export interface RetryRefused {
  subCode?: string;
}

/** When a key already in the ledger is sent again (mirrors the dataset's sendPolicy). */
export type SendPolicy = 'snapshot' | 'once' | 'always';

export interface PendingRecord {
  /** the record's id in the ledger, increasing in staging order (SQLite's rowid; a bigserial elsewhere) */
  rowid: number;
  /** the run that staged it: another run's row is carried over */
  run_id: number;
  merchant: MerchantId;
  key: string;
  snapshot: string;
  biz_content: string;
  attempts: number;
  file: string | null;
  line: number | null;
}

export interface AttemptRecord {
  runId: number;
  dataset: string;
  merchant?: MerchantId | undefined;
  key: string;
  attempt: number;
  kind: string;
  code?: string | undefined;
  subCode?: string | undefined;
  durationMs?: number | undefined;
  /** Alipay's trace id of the answer (its `trace_id` header), to quote when asking Alipay about a call */
  traceId?: string | undefined;
  /** the snapshot sent */
  snapshot?: string | undefined;
}

export interface ResultRecord {
  rowid: number;
  runId: number;
  /** uploaded: success; failed: refused (retryable when it was only the gateway's trouble); pending: unknown, send again */
  status: RecordStatus;
  retryable?: boolean;
  /** keep the request body (default: only while pending, or failed-but-retryable); rows with personal data pass false */
  keepBizContent?: boolean;
  attempts: number;
  code?: string | undefined;
  subCode?: string | undefined;
  subMsg?: string | undefined;
  reason?: string | undefined;
  /** answer fields worth keeping (JSON text), for datasets whose answers carry data */
  result?: string | undefined;
  /** Alipay's trace id of the last answer */
  traceId?: string | undefined;
}

export interface RejectRecord {
  file: string;
  line: number;
  field: string;
  reason: string;
}

export interface AgreementInput {
  agreement_no: string;
  status: string;
  alipay_user_id?: string | undefined;
  /** the user's open id, for apps on OpenID (asked by it, or the principal's open id of an answer or notice) */
  alipay_open_id?: string | undefined;
  /** principal_open_id as Alipay answered it (apps on OpenID) */
  principal_open_id?: string | undefined;
  personal_product_code?: string | undefined;
  sign_scene?: string | undefined;
  /** everything Alipay said of it (already free of personal data) */
  fields: Record<string, unknown>;
}

export interface AgreementRow {
  agreement_no: string;
  status: string;
  alipay_user_id: string | null;
  alipay_open_id: string | null;
  principal_open_id: string | null;
  personal_product_code: string | null;
  sign_scene: string | null;
  fields: Record<string, unknown>;
  source: string;
  /** every status it was seen in, and every notification received (applied or not), in the order received */
  history: AgreementHistoryEntry[];
  /** the order key of the state held (state/agreement-order.ts); null for a row stored before keys existed */
  since: string | null;
  told: string | null;
}

export interface AgreementHistoryEntry {
  status: string;
  source: string;
  /** when the ledger stored it (ISO, the ledger's clock) */
  at: string;
  /** false for a notification older than the state held: kept, but it changed nothing */
  applied: boolean;
  notify_id: string | null;
  notify_time: string | null;
  /** when its status began, by its own time fields (the order key's first part) */
  since: string | null;
}

/** What applyNotification did: applied (changed: the status moved), stale (older than the state held), resend. */
export interface NotificationApplied {
  result: 'applied' | 'stale' | 'resend';
  changed: boolean;
}

export interface RunInfo {
  id: number;
  dataset: string;
  command: string;
  files: string[];
  dryRun: boolean;
  startedAt: string;
  finishedAt: string | null;
  status: string;
  exitCode: number | null;
  summary: Record<string, unknown> | null;
  message: string | null;
  /** what it was started with (qps, concurrency, max_attempts, learned_rate…); null for runs of older versions */
  settings: RunSettings | null;
}

/** Agreements held, by status (status). */
export interface AgreementCount {
  status: string;
  count: number;
}

/** Notifications received by `notify serve` (status). */
export interface NotificationCounts {
  received: number;
  /** in the 24 hours before the ledger's clock */
  lastDay: number;
  /** notices older than the state held: kept as history, changed nothing */
  stale: number;
  /** ISO time of the newest, null when none */
  lastReceivedAt: string | null;
}

/**
 * Where the gateway sends a ledger's rows: a ledger's "uploaded" means uploaded there and nowhere else. The
 * merchant is not part of the target: it is part of every row's key (a ledger holds many merchants' rows).
 */
export interface LedgerTarget {
  gateway: string;
  appId: string;
  /** ignored since merchants are part of every row's key (kept so that older callers still compile) */
  appAuthToken?: string | undefined;
}

export interface BindResult {
  /**
   * new: nothing was bound yet; adopted: nothing comparable was bound, but the ledger has history (runs written
   * by an older version, or a merchant hashed under a key since rebound); same; moved: nothing was ever confirmed
   * at the old target, so the ledger follows the new one by itself; rebound: see `rebound`
   */
  state: 'new' | 'same' | 'adopted' | 'rebound' | 'moved';
  /** the target the ledger was bound to before, as text (rebound, moved) */
  previous?: string;
  /** rows marked as not sent to the new target (rebound) */
  rebound?: number;
}

export interface TookOver {
  pid: number;
  host: string;
  since: string;
  /** dead: its pid is gone; pid-reused: its pid now runs another process; lease-expired: another host stopped renewing */
  reason: 'dead' | 'pid-reused' | 'lease-expired';
}

export interface LockHolder {
  pid: number;
  host: string;
  runId: number | null;
  since: string;
  procStart: string | null;
  renewedAt: string | null;
}

/** How the hash secret was found when the ledger was opened. */
export type SecretSource = 'created' | 'unwrapped' | 'wrapped-legacy' | 'rebound' | 'rebound-in-memory' | 'passed' | null;

/** A failure grouped by the gateway's sub_code (or local code), for `status`. */
export interface FailureGroup {
  dataset: string;
  merchant: MerchantId;
  subCode: string;
  count: number;
  /** one reason of the group (already free of personal data) */
  example: string | null;
  /**
   * true: refused for their content (not sent again while unchanged, only by `retry` or `--retry-failed`);
   * false: given up on after gateway trouble (sent again by the next run). A sub_code may have a group of each.
   */
  refused: boolean;
}

export interface StatusTotal {
  dataset: string;
  merchant: MerchantId;
  status: RecordStatus;
  count: number;
}

/** Rows of one merchant by status (a run's rows, or a dataset's pending rows). */
export interface MerchantCount {
  merchant: MerchantId;
  status: RecordStatus;
  count: number;
}
