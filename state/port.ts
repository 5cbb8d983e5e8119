/**
 * The ledger as the pipeline sees it: what was staged, claimed, sent and answered, the runs, the run lock, the
 * target a ledger is bound to, agreements and notifications, and the reports `status` prints. No SQL here and no
 * file: state/sqlite/ is the adapter of a local file (class Ledger in state/ledger.ts), state/postgres/ the adapter of a
 * PostgreSQL database that several workers share (class PgLedger); state/open-ledger.ts picks one from --ledger.
 *
 * ## Sync today, async tomorrow: `LedgerPort<M>`
 *
 * SQLite runs in-process, so every method answers at once and the pipeline calls them synchronously (`const id =
 * ledger.startRun(…)`). A networked database cannot: every call is a round trip. Rather than make every caller
 * await a SQLite call that never waits, the port is generic in its mode:
 *
 * - `LedgerPort<'sync'>` (the default, what `Ledger` implements): methods return `T`, iterators are `Iterable`;
 * - `LedgerPort<'async'>` (the PostgreSQL adapter): the same methods return `Promise<T>`, iterators are
 *   `AsyncIterable` (pages read by key);
 * - `LedgerPort<Mode>` (code that must run on either): `T | Promise<T>`; such code `await`s every call and walks
 *   iterators with `for await` (both work on a plain value and a sync iterable), so it compiles and runs against
 *   either adapter. The pipeline holds a `LedgerPort<Mode>`.
 *
 * Method names and arguments are the same in both modes; only where an async adapter needs more than a return
 * type (leases, transactions) is said at the method, under "Async/several writers".
 *
 * ## Several writers (what the SQLite adapter never has to handle)
 *
 * One SQLite ledger has one run at a time (the run lock) and one writer connection at a time (SQLite's own
 * lock); the staging thread is a second connection of the same run. A PostgreSQL ledger could serve several
 * processes sending one dataset at once. Three things change, each noted at its method:
 *
 * 1. Claims become leases: `claimPending` marks the rows it returns as claimed by this writer until an expiry
 *    (`claimed_by`, `claim_expires_at`), with `FOR UPDATE SKIP LOCKED` so two writers never get the same row; a
 *    writer that dies leaves rows that any writer may claim again once the lease expired.
 * 2. A result is written in the same transaction that ends its claim (`recordResult(s)`): the update is
 *    conditional on the claim still being this writer's (`WHERE id = $1 AND claimed_by = $me`), so an outcome that
 *    arrives after its lease expired and the row went to another writer is kept as an attempt only, and never
 *    overwrites the newer writer's outcome.
 * 3. Staging decides per key on the row as held (see state/staging-rule.ts): the adapter reads it `FOR UPDATE`
 *    (or upserts with the rule in SQL) so two writers staging the same key serialise.
 *
 * 4. Rates and quotas are shared (LedgerRates): every writer sending for one (app, merchant, method) draws on
 *    one Alipay quota, so they must pace together, not each at the rate it learned alone (see LedgerRates).
 *
 * Leases and the run lock's expiry are then compared with the database's clock (`now()` in SQL), not with each
 * host's: the SQLite lock across hosts needs clocks closer than the lease, a shared server does not.
 *
 * ## Merchants
 *
 * A row's key is (dataset, merchant, key): the merchant is a stable id (the ledger's keyed hash of the row's
 * app_auth_token, computed by the caller with `hash`, never the token, which is a secret and never at rest), or
 * '' for rows sent without a token. The same entity under two merchants is two rows.
 *
 * ## Not in the port (the SQLite adapter's own)
 *
 * `Ledger.path`, `Ledger.hashSecret` (hands the unwrapped secret to the staging thread, a second connection to
 * the same file: state/sqlite/stage-worker.ts), `Ledger.inspect` (reads the file's bytes) and LedgerOptions.
 * A PostgreSQL adapter has its own constructor options (a connection string, a pool, the writer's name and the
 * lease length) and needs no staging thread: the server does the work in parallel with the reader.
 */

import type {
  AttemptRecord, BindResult, FailedRevived, LedgerTarget, LockHolder, PendingRecord, RejectRecord, ResultRecord,
  RetryRefused, RunSettings, SecretSource, SendPolicy, StageCounts, StageRow, TookOver,
} from './model.js';

export type * from './model.js';
export type * from './port-services.js';
import type { LedgerPacing, LedgerAgreements, LedgerTiming, LedgerReports, LedgerRates, LedgerCertificates, LedgerRows } from './port-services.js';

// ---------------------------------------------------------------- modes

/** sync: an in-process database (SQLite); async: a networked one (PostgreSQL). */
export type Mode = 'sync' | 'async';
/** What a method returns in mode M: T, Promise<T>, or (M = Mode) T | Promise<T>. */
export type Returns<M extends Mode, T> = M extends 'sync' ? T : Promise<T>;
/** Rows handed out one at a time: an iterator (sync), or an async one over a server-side cursor (async). */
export type Rows<M extends Mode, T> = M extends 'sync' ? IterableIterator<T> : AsyncIterableIterator<T>;

// ---------------------------------------------------------------- the port, by concept

/** The keyed content hash (so a hash of personal data cannot be reversed by guessing inputs). */
export interface LedgerHashing {
  /** How the hash secret was found when the ledger was opened: lets the CLI say a rebind made every row count as changed. */
  readonly secretSource: SecretSource;
  /**
   * The keyed hash of a text, as stored for change detection. Pure computation once the ledger is open (the
   * secret is unwrapped at open): synchronous in every mode, so it may run per row.
   */
  hash(text: string): string;
}

/** One run at a time per ledger, healed when its holder is gone. */
export interface LedgerLock<M extends Mode = 'sync'> {
  /**
   * Take the run lock, taking over one whose holder is gone (dead pid, reused pid, expired lease), and keep it
   * renewed until releaseLock/close. Throws SYNC_LEDGER_BUSY while another live run holds it.
   *
   * Async/several writers: a PostgreSQL ledger would hold this as a row with a lease (as across hosts today) or
   * a session advisory lock (`pg_try_advisory_lock`, freed by the server when the connection drops). With
   * claims as leases (LedgerSending), several senders of one dataset need no run lock at all: the lock would
   * then guard only what must stay single (bindTarget, a rebind), or be taken per dataset.
   */
  acquireLock(): Returns<M, { tookOver: TookOver | null }>;
  /** Who holds the run lock, if anyone (status, tests). */
  lockHolder(): Returns<M, LockHolder | null>;
  releaseLock(): Returns<M, void>;
}

/** Where a ledger's rows are sent: "uploaded" means uploaded there. */
export interface LedgerTargetBinding<M extends Mode = 'sync'> {
  /**
   * Bind the ledger to the gateway and app its rows are sent to (before startRun). (Merchants are not part of the
   * target but of every row's key: `LedgerTarget.appAuthToken` is ignored.) Another target is
   * refused (SYNC_LEDGER_TARGET) unless `rebind`, which marks every row held as uploaded, or pending, as not sent
   * to the new target. One transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: SERIALIZABLE, or the meta row
   * `FOR UPDATE`), so two runs binding at once agree.
   */
  bindTarget(t: LedgerTarget, o?: { rebind?: boolean; dryRun?: boolean }): Returns<M, BindResult>;
}

export interface LedgerRuns<M extends Mode = 'sync'> {
  /** A new run row (status running), named on the lock while it runs; `settings` are kept for its report. */
  startRun(dataset: string, command: string, files: string[], dryRun: boolean, settings?: RunSettings): Returns<M, number>;
  finishRun(runId: number, status: string, exitCode: number, summary: Record<string, unknown>, message?: string): Returns<M, void>;
  /**
   * Everything staged until rollbackDryRun() is undone: a dry run computes the real plan and leaves no trace.
   *
   * Async: a PostgreSQL adapter keeps one transaction open on a dedicated connection until rollback (every
   * staging call of the dry run goes over that connection), or stages into a temporary table.
   */
  beginDryRun(): Returns<M, void>;
  rollbackDryRun(): Returns<M, void>;
}

export interface LedgerStaging<M extends Mode = 'sync'> {
  /**
   * Stage a batch in one transaction; per key the ledger keeps the newest snapshot (the rule, a pure function:
   * state/staging-rule.ts).
   *
   * Async/several writers: the adapter reads each key's row `FOR UPDATE` (or `INSERT … ON CONFLICT DO UPDATE …
   * WHERE` with the rule in SQL) so that two writers staging the same key serialise. Restaging a row ends any
   * claim on it (`claimed_by = NULL`): the result of the older snapshot, in flight at another writer, is then
   * conditional on a claim that is gone (see recordResult) and cannot mark the newer snapshot as uploaded.
   */
  stage(runId: number, dataset: string, rows: readonly StageRow[], policy?: SendPolicy, retry?: RetryRefused | null): Returns<M, StageCounts>;
  addRejects(runId: number, dataset: string, rejects: readonly RejectRecord[]): Returns<M, void>;
  /** Failed-but-retryable rows whose request body was kept become pending again; returns how many. */
  reviveRetryable(dataset: string): Returns<M, number>;
  /**
   * `alipay-sync retry`: failed rows (refused for their content, or given up on), of one sub_code or key if
   * given, whose request body was kept become pending again; the files of the others (personal data, whose
   * bodies are never kept) are named with their counts, to be read again.
   */
  reviveFailed(dataset: string, o?: { subCode?: string; key?: string }): Returns<M, FailedRevived>;
  /** What this run staged and still has to send: new keys, and keys Alipay holds an older/different snapshot of. */
  stagedPlan(runId: number, dataset: string): Returns<M, { new: number; changed: number }>;
  countPending(dataset: string): Returns<M, number>;
  /** The merchants with pending rows, and how many each, ordered by merchant (the sender gives each its turns). */
  pendingByMerchant(dataset: string): Returns<M, { merchant: string; count: number }[]>;
  /** Forget the pending rows of a dataset that belong to another export session than `snapshot`; returns how many. */
  dropPendingOutside(dataset: string, snapshot: string): Returns<M, number>;
  /**
   * This run has staged everything it will (its files are read). Several writers: others waiting for the
   * dataset's rows (LedgerSending.outstanding) stop counting it as a run that may still add rows. SQLite: nothing.
   */
  stagingDone(runId: number): Returns<M, void>;
}

export interface LedgerSending<M extends Mode = 'sync'> {
  /**
   * Pending rows after `afterRowid`, oldest first; the caller walks the cursor so each row is claimed once per
   * run. SQLite: a plain read (the run lock makes this run the only sender).
   *
   * Async/several writers: a claim is a lease. `UPDATE records SET claimed_by = $me, claim_expires_at = now() +
   * $lease WHERE id IN (SELECT id … WHERE status = 'pending' AND id > $after AND (claim_expires_at IS NULL OR
   * claim_expires_at < now()) ORDER BY id LIMIT $n FOR UPDATE SKIP LOCKED) RETURNING …`. The writer's identity and
   * the lease length are the adapter's (set at open); rows whose lease expired (a dead writer) come back to any
   * writer, so the cursor alone no longer decides. A long send renews its lease (as the run lock is renewed).
   * With `merchant`, only that merchant's rows (the sender keeps one cursor per merchant, for fair turns): the
   * index is (dataset, merchant, id) over pending rows.
   */
  claimPending(dataset: string, afterRowid: number, limit: number, merchant?: string): Returns<M, PendingRecord[]>;
  /** An attempt that did not end the row (it is retried); kept for the record only. */
  recordAttempt(a: AttemptRecord): Returns<M, void>;
  /**
   * Record a row's outcome for this run, with its last attempt, in one transaction.
   *
   * Async/several writers: the same transaction ends the claim (`claimed_by = NULL, claim_expires_at = NULL`)
   * and is conditional on it (`WHERE id = $1 AND claimed_by = $me`): an outcome whose lease expired meanwhile
   * records its attempt only. Either the result and the end of the claim are both written, or neither.
   */
  recordResult(r: ResultRecord, attempt?: AttemptRecord): Returns<M, void>;
  /** Several outcomes in one transaction (group commit); with leases, each ends its own claim as in recordResult. */
  recordResults(items: readonly { result: ResultRecord; attempt?: AttemptRecord | undefined }[]): Returns<M, void>;
  /**
   * What a run still waits for once it can claim nothing more: the dataset's rows still pending, and other live
   * runs of the dataset still staging. With one writer (SQLite) nothing is leased elsewhere, and a run ends when
   * its claims run dry; with several, rows leased by others (or by a writer that died, until its lease expires)
   * are still to come back, so a run ends only when both are 0 (see pipeline/run/send.ts).
   */
  outstanding(dataset: string, runId: number): Returns<M, { pending: number; staging: number }>;
}

/**
 * The whole ledger. `close()` ends the lock's renewal, drops an open dry run and releases the connection(s)
 * (SQLite also folds the WAL so cleared bizContents leave no copy).
 */
export interface LedgerPort<M extends Mode = 'sync'>
  extends LedgerHashing, LedgerLock<M>, LedgerTargetBinding<M>, LedgerRuns<M>, LedgerStaging<M>, LedgerSending<M>,
    LedgerAgreements<M>, LedgerTiming<M>, LedgerReports<M>, LedgerRows<M>, LedgerCertificates<M>, LedgerRates<M> {
  /**
   * Several processes may send from this ledger at once (PostgreSQL): claims are leases, a run waits for rows in
   * flight elsewhere before it ends, and the rate limit is shared (`pacing`). False for SQLite (one run at a time).
   */
  readonly shared: boolean;
  /** The shared rate limit, on a shared ledger; null where each run keeps its own (SQLite). */
  readonly pacing: LedgerPacing<M> | null;
  close(): Returns<M, void>;
}
