/**
 * The ledger port's services beside the send loop (state/port.ts has the port, its modes and the core: lock,
 * target, runs, staging, sending): the shared pacing, agreements, run timing, reports, learned rates and quota
 * stops, certificates, and the rows `alipay-sync rows` lists. Same modes and rules as the core.
 */
import type {
  AgreementCount, AgreementInput, AgreementRow, FailureGroup, KeyStory, LearnedRate, MerchantCount,
  NotificationApplied, NotificationCounts, QuotaStop, RateKey, RecordStatus, RowFilter, RowView, RunInfo, RunTiming,
  RunTimingBatch, StatusTotal,
} from './model.js';
import type { Mode, Returns, Rows } from './port.js';

/** A limit of the shared rate: its key (e.g. app, merchant, method) and the ceiling the caller runs under (0: none). */
export interface PaceLimit {
  key: string;
  qps: number;
}

/**
 * A rate limit several processes share (only a shared ledger has one: `LedgerPort.pacing`). Times are the
 * database's, so the writers' clocks need not agree; only the waits they are told are theirs to keep.
 */
export interface LedgerPacing<M extends Mode = 'sync'> {
  /** Reserve the next start slot under every limit named at once: how many ms from now it starts. */
  reserveSlot(limits: readonly PaceLimit[]): Returns<M, number>;
  /**
   * The gateway said 40005 (or 429) to a request started `sentAgoMs` ago: halve `key`'s rate for every writer
   * (unless that answer says nothing new: see the in-process RateLimiter.slowDown). The new rate, or null when
   * it was not lowered.
   */
  slowDown(key: string, o: { ceiling: number; observed: number; sentAgoMs: number; holdMs: number }): Returns<M, number | null>;
  /** The rate in force for `key`: null when nothing was learned (the ceiling applies). */
  currentRate(key: string): Returns<M, number | null>;
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
