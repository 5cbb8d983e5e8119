import { hostname } from 'node:os';
import type {
  AgreementCount, AgreementInput, AgreementRow, AttemptRecord, BindResult, FailedRevived, FailureGroup, KeyStory, LearnedRate,
  LedgerPort, LedgerTarget, LockHolder, MerchantCount, NotificationApplied, NotificationCounts, PendingRecord, QuotaStop, RateKey,
  RecordStatus, RejectRecord, ResultRecord, RetryRefused, RowFilter, RowView, RunInfo, RunSettings, RunTiming, RunTimingBatch,
  SecretSource, SendPolicy, StageCounts, StageRow, StatusTotal, TookOver,
} from './port.js';
import { isPidAlive, procStartOf } from './process-identity.js';
import { SqliteAgreements } from './sqlite/agreements.js';
import { SqliteCertificates } from './sqlite/certificates.js';
import { inspectLedgerFile, type LedgerFileKind } from './sqlite/inspect.js';
import { SqliteLock } from './sqlite/lock.js';
import { openDatabase, SqliteConnection, type LedgerOptions } from './sqlite/open.js';
import { SqliteRates } from './sqlite/rates.js';
import { SqliteReports } from './sqlite/reports.js';
import { SqliteRows } from './sqlite/rows.js';
import { SqliteRuns } from './sqlite/runs.js';
import { KeyedHash, resolveSecret } from './sqlite/secret.js';
import { SqliteSending } from './sqlite/sending.js';
import { SqliteStaging } from './sqlite/staging.js';
import { SqliteTargetBinding } from './sqlite/target.js';
import { SqliteTiming } from './sqlite/timing.js';

// Every type the rest of the project imports from state/ledger.js stays here.
export type {
  AgreementCount, AgreementHistoryEntry, AgreementInput, AgreementRow, AttemptRecord, AttemptView, BindResult,
  FailedRevived, FailureGroup, KeyStory, LedgerPort, LedgerTarget, LockHolder, NotificationApplied, NotificationCounts,
  PendingRecord, RecordStatus, RejectRecord, ResultRecord, RetryRefused, RowFilter, RowState, RowView, RunInfo,
  RunSettings, RunTiming, RunTimingBatch, SecretSource, SendPolicy, StageCounts, StageRow, StatusTotal, SupersededView,
  TimingCode, TimingKey, TimingSecond, TookOver,
  LearnedRate, MerchantCount, MerchantId, QuotaStop, RateKey,
} from './port.js';
export { ROW_COLUMNS, ROW_STATES } from './rows-model.js';
export { SCHEMA_VERSION } from './sqlite/schema.js';
export type { LedgerFileKind } from './sqlite/inspect.js';
export type { LedgerOptions } from './sqlite/open.js';

const DEFAULT_LEASE_MS = 120_000;

/**
 * The SQLite ledger (the LedgerPort adapter for one local file): every SQL statement of the project lives in
 * state/. This class only opens the file and hands each call to the part of state/sqlite/ that owns the concept:
 * secret.ts (the keyed hash), lock.ts, target.ts, runs.ts (+ the dry run of open.ts), staging.ts (with the rule
 * of state/staging-rule.ts), sending.ts, agreements.ts, reports.ts, rows.ts, rates.ts.
 */
export class Ledger implements LedgerPort {
  readonly path: string;
  /** how the hash secret was found: lets the CLI say that a rebind made every row count as changed */
  readonly secretSource: SecretSource;
  private readonly conn: SqliteConnection;
  private readonly hasher: KeyedHash;
  private readonly lock: SqliteLock;
  private readonly target: SqliteTargetBinding;
  private readonly runs: SqliteRuns;
  private readonly staging: SqliteStaging;
  private readonly sending: SqliteSending;
  private readonly agreements: SqliteAgreements;
  private readonly reports: SqliteReports;
  private readonly rates: SqliteRates;
  private readonly timing: SqliteTiming;
  private readonly listing: SqliteRows;
  private readonly certificates: SqliteCertificates;

  constructor(path: string, options: LedgerOptions = {}) {
    this.path = path;
    const readonly = options.readonly ?? false;
    const { db, init: found } = openDatabase(path, readonly, (d) => resolveSecret(d, path, options, readonly));
    this.secretSource = found.source;
    const conn = (this.conn = new SqliteConnection(path, db, options.clock ?? Date.now, readonly));
    this.hasher = new KeyedHash(found.secret, path);
    this.lock = new SqliteLock(conn, {
      leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
      isAlive: options.isAlive ?? isPidAlive,
      procStart: options.procStart ?? procStartOf,
      host: options.host ?? hostname(),
    });
    conn.onClose = () => this.lock.stopRenewing();
    this.target = new SqliteTargetBinding(conn);
    this.runs = new SqliteRuns(conn);
    this.staging = new SqliteStaging(conn, (text: string) => this.hasher.hash(text));
    this.sending = new SqliteSending(conn);
    this.agreements = new SqliteAgreements(conn);
    this.reports = new SqliteReports(conn);
    this.rates = new SqliteRates(conn);
    this.timing = new SqliteTiming(conn);
    this.listing = new SqliteRows(conn);
    this.certificates = new SqliteCertificates(conn);
  }

  /**
   * What is at `path`, without creating or changing any file (not even -wal/-shm, which any SQLite connection,
   * read-only or not, would create): the CLI checks --ledger before anything is read or sent.
   */
  static inspect(path: string): LedgerFileKind {
    return inspectLedgerFile(path);
  }

  // ---------------------------------------------------------------- hashing (sqlite/secret.ts)

  /** The unwrapped hash secret, to pass to the staging thread's connection (StageThreadInit.hashSecret); never print it. */
  get hashSecret(): Buffer | null {
    return this.hasher.secretCopy;
  }

  hash(text: string): string {
    return this.hasher.hash(text);
  }

  // ---------------------------------------------------------------- target (sqlite/target.ts)

  bindTarget(t: LedgerTarget, o: { rebind?: boolean; dryRun?: boolean } = {}): BindResult {
    return this.target.bindTarget(t, o);
  }

  // ---------------------------------------------------------------- lock (sqlite/lock.ts)

  acquireLock(): { tookOver: TookOver | null } {
    return this.lock.acquireLock();
  }

  lockHolder(): LockHolder | null {
    return this.lock.lockHolder();
  }

  releaseLock(): void {
    this.lock.releaseLock();
  }

  // ---------------------------------------------------------------- runs (sqlite/runs.ts, sqlite/open.ts)

  startRun(dataset: string, command: string, files: string[], dryRun: boolean, settings?: RunSettings): number {
    return this.runs.startRun(dataset, command, files, dryRun, settings);
  }

  finishRun(runId: number, status: string, exitCode: number, summary: Record<string, unknown>, message?: string): void {
    this.runs.finishRun(runId, status, exitCode, summary, message);
  }

  beginDryRun(): void {
    this.conn.beginDryRun();
  }

  rollbackDryRun(): void {
    this.conn.rollbackDryRun();
  }

  // ---------------------------------------------------------------- staging (sqlite/staging.ts)

  stage(runId: number, dataset: string, rows: readonly StageRow[], policy: SendPolicy = 'snapshot', retry: RetryRefused | null = null): StageCounts {
    return this.staging.stage(runId, dataset, rows, policy, retry);
  }

  addRejects(runId: number, dataset: string, rejects: readonly RejectRecord[]): void {
    this.staging.addRejects(runId, dataset, rejects);
  }

  reviveRetryable(dataset: string): number {
    return this.staging.reviveRetryable(dataset);
  }

  reviveFailed(dataset: string, o: { subCode?: string; key?: string } = {}): FailedRevived {
    return this.staging.reviveFailed(dataset, o);
  }

  stagedPlan(runId: number, dataset: string): { new: number; changed: number } {
    return this.staging.stagedPlan(runId, dataset);
  }

  countPending(dataset: string): number {
    return this.staging.countPending(dataset);
  }

  dropPendingOutside(dataset: string, snapshot: string): number {
    return this.staging.dropPendingOutside(dataset, snapshot);
  }

  pendingByMerchant(dataset: string): { merchant: string; count: number }[] {
    return this.staging.pendingByMerchant(dataset);
  }

  // ---------------------------------------------------------------- sending (sqlite/sending.ts)

  claimPending(dataset: string, afterRowid: number, limit: number, merchant?: string): PendingRecord[] {
    return this.sending.claimPending(dataset, afterRowid, limit, merchant);
  }

  recordAttempt(a: AttemptRecord): void {
    this.sending.recordAttempt(a);
  }

  recordResults(items: readonly { result: ResultRecord; attempt?: AttemptRecord | undefined }[]): void {
    this.sending.recordResults(items);
  }

  recordResult(r: ResultRecord, attempt?: AttemptRecord): void {
    this.sending.recordResult(r, attempt);
  }

  // ---------------------------------------------------------------- agreements (sqlite/agreements.ts)

  upsertAgreement(a: AgreementInput, source: 'effect' | 'query' | 'notify', runId?: number): { changed: boolean } {
    return this.agreements.upsertAgreement(a, source, runId);
  }

  applyNotification(notifyId: string, a: AgreementInput, notifyTime?: string): NotificationApplied {
    return this.agreements.applyNotification(notifyId, a, notifyTime);
  }

  agreement(agreementNo: string): AgreementRow | undefined {
    return this.agreements.agreement(agreementNo);
  }

  // ---------------------------------------------------------------- timing (sqlite/timing.ts)

  recordTiming(runId: number, batch: RunTimingBatch): void {
    this.timing.recordTiming(runId, batch);
  }

  runTiming(runId: number): RunTiming {
    return this.timing.runTiming(runId);
  }

  // ---------------------------------------------------------------- reports (sqlite/reports.ts, sqlite/runs.ts)

  runInfo(runId: number): RunInfo | undefined {
    return this.runs.runInfo(runId);
  }

  agreementCounts(): AgreementCount[] {
    return this.reports.agreementCounts();
  }

  notificationCounts(): NotificationCounts {
    return this.reports.notificationCounts();
  }

  runOutcomes(runId: number, dataset: string): Record<RecordStatus, number> {
    return this.reports.runOutcomes(runId, dataset);
  }

  runOutcomesByMerchant(runId: number, dataset: string): MerchantCount[] {
    return this.reports.runOutcomesByMerchant(runId, dataset);
  }

  recentRuns(limit = 10, dataset?: string): RunInfo[] {
    return this.runs.recentRuns(limit, dataset);
  }

  failuresBySubCode(dataset?: string): FailureGroup[] {
    return this.reports.failuresBySubCode(dataset);
  }

  totals(): StatusTotal[] {
    return this.reports.totals();
  }

  sessionResults(dataset: string, snapshot: string): IterableIterator<string | null> {
    return this.reports.sessionResults(dataset, snapshot);
  }

  record(dataset: string, key: string, merchant = ''): Record<string, unknown> | undefined {
    return this.reports.record(dataset, key, merchant);
  }

  // ---------------------------------------------------------------- rates and quotas (sqlite/rates.ts)

  learnedRates(appId?: string, method?: string): LearnedRate[] {
    return this.rates.learnedRates(appId, method);
  }

  saveLearnedRates(rates: readonly LearnedRate[], runId?: number): void {
    this.rates.saveLearnedRates(rates, runId);
  }

  quotaStops(appId?: string): QuotaStop[] {
    return this.rates.quotaStops(appId);
  }

  saveQuotaStop(stop: QuotaStop): void {
    this.rates.saveQuotaStop(stop);
  }

  clearQuotaStop(key: RateKey): void {
    this.rates.clearQuotaStop(key);
  }

  // ---------------------------------------------------------------- rows (sqlite/rows.ts)

  rows(filter: RowFilter = {}): IterableIterator<RowView> {
    return this.listing.rows(filter);
  }

  keyStory(key: string, dataset?: string): KeyStory[] {
    return this.listing.keyStory(key, dataset);
  }

  // ---------------------------------------------------------------- certificates (sqlite/certificates.ts)

  keptCertificates(): string[] {
    return this.certificates.keptCertificates();
  }

  keepCertificate(sn: string, pem: string): void {
    this.certificates.keepCertificate(sn, pem);
  }

  setCertificateExpiries(json: string): void {
    this.certificates.setCertificateExpiries(json);
  }

  certificateExpiries(): string | undefined {
    return this.certificates.certificateExpiries();
  }

  /** Stops renewing the lock, drops an open dry run, folds the WAL (cleared bizContents leave no copy) and closes. */
  close(): void {
    this.conn.close();
  }
}
