/**
 * The ledger as the pipeline sees it: what was staged, claimed, sent and answered, the runs, the run lock, the
 * target a ledger is bound to, agreements and notifications, and the reports `status` prints. No SQL here and no
 * file: state/sqlite/ is the one adapter today (class Ledger in state/ledger.ts); a PostgreSQL adapter is planned.
 *
 * ## Sync today, async tomorrow: `LedgerPort<M>`
 *
 * SQLite runs in-process, so every method answers at once and the pipeline calls them synchronously (`const id =
 * ledger.startRun(…)`). A networked database cannot: every call is a round trip. Rather than make every caller
 * await a SQLite call that never waits, the port is generic in its mode:
 *
 * - `LedgerPort<'sync'>` (the default, what `Ledger` implements): methods return `T`, iterators are `Iterable`;
 * - `LedgerPort<'async'>` (a PostgreSQL adapter): the same methods return `Promise<T>`, iterators are
 *   `AsyncIterable` (a server-side cursor);
 * - `LedgerPort<Mode>` (code that must run on either): `T | Promise<T>`; such code `await`s every call and walks
 *   iterators with `for await` (both work on a plain value and a sync iterable), so it compiles and runs against
 *   either adapter. Today's pipeline holds a `Ledger` (sync) and needs no change.
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
  AgreementCount, AgreementInput, AgreementRow, AttemptRecord, BindResult, FailedRevived, FailureGroup, KeyStory, LearnedRate,
  LedgerTarget, LockHolder, MerchantCount, NotificationApplied, NotificationCounts, PendingRecord, QuotaStop, RateKey, RecordStatus,
  RejectRecord, ResultRecord, RetryRefused, RowFilter, RowView, RunInfo, RunSettings, RunTiming, RunTimingBatch, SecretSource,
  SendPolicy, StageCounts, StageRow, StatusTotal, TookOver,
} from './model.js';

export type * from './model.js';

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
}

/** Agreements as Alipay answered of them, and the notifications it sent. */
export interface LedgerAgreements<M extends Mode = 'sync'> {
  /** Store an `agreements effect`/`query` answer (Alipay's state when asked); a new status adds a history entry. */
  upsertAgreement(a: AgreementInput, source: 'effect' | 'query' | 'notify', runId?: number): Returns<M, { changed: boolean }>;
  /**
   * Apply a verified notification once: a resend (same notify_id) changes nothing; otherwise it is applied unless
   * older than the state held (state/agreement-order.ts), and kept as history either way.
   *
   * Async/several writers: several receivers may take notices at once: the notify_id insert (`ON CONFLICT DO
   * NOTHING`) and the agreement row read `FOR UPDATE` in one transaction keep it exactly-once and ordered.
   */
  applyNotification(notifyId: string, a: AgreementInput, notifyTime?: string): Returns<M, NotificationApplied>;
  agreement(agreementNo: string): Returns<M, AgreementRow | undefined>;
}

/**
 * How a run sent, in aggregates written about once a second (requests and outcomes per second, the latency
 * histogram, answers by code, the slowest and first failed keys): its report and `status` read them back.
 */
export interface LedgerTiming<M extends Mode = 'sync'> {
  /** Add a batch to what the run has recorded (one transaction; `keys` replaces the run's lists). */
  recordTiming(runId: number, batch: RunTimingBatch): Returns<M, void>;
  /** Everything recorded of a run (empty lists for a run of an older version). */
  runTiming(runId: number): Returns<M, RunTiming>;
}

/** What `status`, summaries and exports read. */
export interface LedgerReports<M extends Mode = 'sync'> {
  /** One run by id. */
  runInfo(runId: number): Returns<M, RunInfo | undefined>;
  /** Agreements held, by status. */
  agreementCounts(): Returns<M, AgreementCount[]>;
  /** Notifications `notify serve` received and verified. */
  notificationCounts(): Returns<M, NotificationCounts>;
  /** Final state of the rows this run staged, by status. */
  runOutcomes(runId: number, dataset: string): Returns<M, Record<RecordStatus, number>>;
  /** The same by merchant (the summary's per-merchant counts). */
  runOutcomesByMerchant(runId: number, dataset: string): Returns<M, MerchantCount[]>;
  recentRuns(limit?: number, dataset?: string): Returns<M, RunInfo[]>;
  /** Rows currently failed, grouped by sub_code, most frequent first. */
  failuresBySubCode(dataset?: string): Returns<M, FailureGroup[]>;
  totals(): Returns<M, StatusTotal[]>;
  /** The kept results of the rows uploaded with one snapshot (an export session), in staging order; iterated, not loaded. */
  sessionResults(dataset: string, snapshot: string): Rows<M, string | null>;
  /** Look up one record (tests, status of a key) of one merchant (default: none): the stored columns by name. */
  record(dataset: string, key: string, merchant?: string): Returns<M, Record<string, unknown> | undefined>;
}

/**
 * Rates and quotas per (app, merchant, method): what the rate controller learned (where the next run starts) and
 * the daily quotas found spent (until 00:00 Beijing time). The decisions are pure functions in pipeline/rate/
 * (observations in, next rate out); the ledger only stores their plain results, so any adapter keeps them.
 *
 * Async/several writers (a PostgreSQL ledger shared by worker processes): one Alipay quota per (app, merchant,
 * method) is then drawn on by every writer, so
 *
 * 1. Pacing is shared. Each writer takes its start times from one row per key, GCRA-style, instead of its own
 *    clock: `UPDATE rate_slots SET tat = GREATEST(tat, now()) + $n * interval '1 second' / $rate WHERE app_id = …
 *    RETURNING tat - $n * …` reserves the next $n start times (a few at a time, so a request costs no round trip of
 *    its own); the writer waits until each. The rate used is the key's learned rate (read below), so the sum of
 *    all writers stays under the quota whatever their number. (Dividing the rate by the live writers, counted by
 *    their claim leases, is the cheaper alternative, but it lags when writers come and go.)
 * 2. What one writer learns reaches the others: `saveLearnedRates` is called every few seconds while sending, not
 *    only at the end, and upserts `ON CONFLICT DO UPDATE … WHERE learned_rates.updated_at < excluded.updated_at`
 *    (the newest observation wins); writers re-read `learnedRates` as often and adopt a lower rate at once (a
 *    higher one at their next probe). Every writer's 40005s feed its own controller; none may raise the shared
 *    rate above what the latest save says without probing.
 * 3. A quota stop found by one writer stops all: `saveQuotaStop` is read (`quotaStops`) before each claim batch,
 *    and a key whose stop lies in the future is not sent for until then (or until one writer's probe succeeds
 *    and calls `clearQuotaStop`).
 * 4. Times are the database's (`now()`), like leases.
 */
export interface LedgerRates<M extends Mode = 'sync'> {
  /** What was learned (for one app and method, when given), ordered by app, merchant and method. */
  learnedRates(appId?: string, method?: string): Returns<M, LearnedRate[]>;
  /** Keep what the controllers learned (one transaction); the ledger stamps updatedAt. */
  saveLearnedRates(rates: readonly LearnedRate[], runId?: number): Returns<M, void>;
  /** The daily quotas found spent (of one app, when given), the soonest reset first; past ones included. */
  quotaStops(appId?: string): Returns<M, QuotaStop[]>;
  saveQuotaStop(stop: QuotaStop): Returns<M, void>;
  /** The quota is back (a request went through, or its reset passed): forget the stop. */
  clearQuotaStop(key: RateKey): Returns<M, void>;
}

/** Certificate mode: the Alipay certificates fetched after a rotation, and when the certificates in use end. */
export interface LedgerCertificates<M extends Mode = 'sync'> {
  /** The Alipay certificates kept (PEM as Alipay gave them), so a later run need not fetch them again. */
  keptCertificates(): Returns<M, string[]>;
  keepCertificate(sn: string, pem: string): Returns<M, void>;
  /** When the certificates in use end: JSON text the pipeline writes at each run's start and `status` reads. */
  setCertificateExpiries(json: string): Returns<M, void>;
  certificateExpiries(): Returns<M, string | undefined>;
}

/**
 * What `alipay-sync rows` reads: rows by state and filter, and one key's whole story.
 *
 * Async: `rows` is a server-side cursor (`DECLARE … CURSOR`, or pg-cursor / a `FOR` loop fetching in pages) so a
 * million rows stream as they do from SQLite's iterator; `keyStory` is a few indexed reads.
 */
export interface LedgerRows<M extends Mode = 'sync'> {
  /** Records (pending, uploaded, failed) in staging order, then rejected lines, then superseded ones: streamed. */
  rows(filter?: RowFilter): Rows<M, RowView>;
  /** One key in one dataset, or in every dataset that has it: current state, attempts, superseded lines. */
  keyStory(key: string, dataset?: string): Returns<M, KeyStory[]>;
}

/**
 * The whole ledger. `close()` ends the lock's renewal, drops an open dry run and releases the connection(s)
 * (SQLite also folds the WAL so cleared bizContents leave no copy).
 */
export interface LedgerPort<M extends Mode = 'sync'>
  extends LedgerHashing, LedgerLock<M>, LedgerTargetBinding<M>, LedgerRuns<M>, LedgerStaging<M>, LedgerSending<M>,
    LedgerAgreements<M>, LedgerTiming<M>, LedgerReports<M>, LedgerRows<M>, LedgerCertificates<M>, LedgerRates<M> {
  close(): Returns<M, void>;
}
