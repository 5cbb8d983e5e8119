import type { Dataset } from '../../sources/dataset.js';
import type { Encoding } from '../../sources/csv.js';
import type { LedgerTarget, RetryRefused } from '../../state/ledger.js';
import type { AlipayClient } from '../alipay/client.js';
import type { ResultSink } from '../agreements.js';
import type { Logger } from '../log.js';
import type { ControlParams } from '../rate/controller.js';
import type { RunObserver } from './observe.js';

/** What a run of one dataset takes and gives back (runUpload, in run/index.ts). */

export interface UploadOptions {
  dataset: Dataset;
  files: string[];
  /** a SQLite file, or a postgres:// URL (then `ledgerSchema`, `leaseMs`) */
  ledgerPath: string;
  /** PostgreSQL: the schema the ledger lives in (default alipay_sync) */
  ledgerSchema?: string;
  /** PostgreSQL: how long a claim on rows (and a worker's heartbeat) lasts unless renewed, in ms */
  leaseMs?: number;
  /** null only for a dry run */
  client: AlipayClient | null;
  /** where rows go: the ledger remembers it and refuses another (see Ledger.bindTarget) */
  target: LedgerTarget;
  /** key material the ledger's hash secret is wrapped with (the app private key's DER bytes) */
  hashKey: Buffer;
  /** bind a ledger used with another target or key to this one */
  rebind?: boolean;
  encoding?: Encoding;
  dryRun?: boolean;
  rejectsPath?: string;
  /** files for spreadsheets (rejects) start with a UTF-8 BOM unless false */
  bom?: boolean;
  /** a file with no data rows is fine (otherwise: a warning, and exit 1) */
  allowEmpty?: boolean;
  /** datasets that ask again every run (queries): ask everyone, not only those an interrupted run left */
  fresh?: boolean;
  /**
   * `--retry-failed [--sub-code X]`: rows of the files that Alipay refused for their content and that are
   * unchanged are sent again (by default they are not: "still refused")
   */
  retryFailed?: RetryRefused | null;
  /**
   * `alipay-sync retry`: before sending, failed rows whose request body the ledger kept (all, or of one sub_code
   * or key) become pending again; with no files, nothing is read
   */
  reviveFailed?: { subCode?: string; key?: string } | null;
  /** the global ceiling, requests per second (0: none); each merchant and method also has its own rate, learned */
  qps?: number;
  /** the app_auth_token of rows whose file has no app_auth_token column, or an empty cell in it (default: the client's) */
  appAuthToken?: string;
  /** a spent daily quota: sleep until it resets (00:00 Beijing) and go on, instead of stopping with exit 4 */
  waitForQuota?: boolean;
  /** the rate controller's timing (tests; see pipeline/rate/controller.ts) */
  rateParams?: Partial<ControlParams>;
  concurrency?: number;
  maxAttempts?: number;
  backoffMs?: number;
  notifyUrl?: string;
  logger: Logger;
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
  progressIntervalMs?: number;
  /** Ctrl-C: stop taking rows, settle the ones in flight, record them */
  signal?: AbortSignal;
  /** how the run is named in the ledger (the command line, without secrets) */
  command?: string;
  /** the wall clock (durations, the daily quota's reset); tests move it */
  clock?: () => number;
  /** how the run sleeps until a daily quota resets (tests: without really waiting) */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** what to do with a verified success beyond recording it (agreements keep the answer) */
  sink?: ResultSink;
  /** how many rows in a row may give up on transient errors before the run stops as "gateway unreachable" */
  giveUpStreak?: number;
  /** how many rows in a row may fail with one sub_code before the run stops as "probably configuration" */
  failureStreak?: number;
  /** who watches the run while it sends (metrics); the run's own timing recorder is always there */
  observers?: RunObserver[];
  /** the rate learned for this target by earlier runs, where sending starts (kept with the run for its report) */
  learnedRate?: number | null;
}

export interface UploadSummary {
  run_id: number;
  dataset: string;
  read: number;
  rejected: number;
  superseded: number;
  unchanged: number;
  uploaded: number;
  failed: number;
  pending: number;
  duration_ms: number;
  status: 'done' | 'aborted' | 'interrupted' | 'quota-spent' | 'dry-run';
  dry_run: boolean;
  /** dry run only: of the rows that would be sent, how many keys are new to Alipay and how many change */
  plan?: { new: number; changed: number };
  /**
   * of `failed`: rows Alipay refused for their content in an earlier run, read again unchanged, and not sent
   * again (`--retry-failed` sends them)
   */
  still_refused: number;
  /** rows staged by earlier runs (left pending by a crash, abort or gateway trouble) that this run sent */
  carried_over: { uploaded: number; failed: number; pending: number };
  /** `alipay-sync retry`: failed rows taken from the ledger to send again (their outcomes are in carried_over) */
  retried?: number;
  /** `alipay-sync retry`: failed rows without a kept body (personal data), by file: read those files again */
  read_again?: { file: string | null; rows: number }[];
  retries: number;
  /**
   * what this run sent and how it ended (real runs; `retry` and `--retry-failed` included): rows answered
   * (uploaded + failed, this run's rows and earlier runs'), and the time sending took; the run's rate is
   * rows / duration_ms (at least 1 s), the one the progress line, the run report and the metrics show
   */
  sent?: { rows: number; uploaded: number; failed: number; duration_ms: number };
  /** input files that held no data row (an empty export usually means the export broke) */
  empty_files: string[];
  /** the run-fatal reason when status is aborted */
  abort_reason?: string;
  /** why the run stopped before the end (aborted, quota-spent), for machines: the gateway's code and sub_code, and the reason */
  stop?: { code: string; sub_code?: string; message: string };
  /** quota-spent: when the daily quota resets, and how to go on */
  quota?: { resets_at: string; resets_at_beijing: string; resume: string; merchants: string[] };
  /** per merchant (present when the run sent for merchants, or a rate was learned): its rows this run staged, and its turn */
  merchants?: MerchantSummary[];
}

export interface MerchantSummary {
  /** `#` and the first 8 characters of the merchant id (the ledger's keyed hash of its app_auth_token), or "no merchant" */
  merchant: string;
  /** the whole merchant id, as in the ledger */
  id: string;
  /** where this run first read its token: `file:line`, or `--app-auth-token` */
  first_seen?: string;
  uploaded: number;
  failed: number;
  pending: number;
  /** rows earlier runs left pending that this run could not send (no file of this run names its token) */
  not_sent?: number;
  /** why nothing more was sent for it: its token refused (20001), or no token for it in this run (NO_TOKEN) */
  stopped?: { code: string; sub_code?: string; message: string };
  /** its daily quota is spent until then (ISO) */
  quota_spent_until?: string;
  /** per method: the rate it ended at, the quota measured (null: never reached), and how many 40005/429 answers */
  rates: { method: string; rate: number | null; quota: number | null; throttled: number }[];
}

export interface UploadResult {
  summary: UploadSummary;
  exitCode: number;
}

/** rows per batch handed to the staging thread: small enough that a batch dies young in the garbage collector */
export const STAGE_BATCH = 1000;
export const SHOW_FIRST = 20;
/** how long an interrupted query run may be resumed: after that, everyone is asked again */
export const RESUME_WINDOW_MS = 24 * 3600_000;
