import { hostname } from 'node:os';
import type {
  AgreementInput, AgreementRow, AttemptRecord, BindResult, FailureGroup, LearnedRate, LedgerPort, LedgerTarget, LockHolder,
  MerchantCount, NotificationApplied, PendingRecord, QuotaStop, RateKey, RecordStatus, RejectRecord, ResultRecord, RunInfo,
  SecretSource, StageCounts, StagePolicy, StageRow, StatusTotal, TookOver,
} from './port.js';
import { isPidAlive, procStartOf } from './process-identity.js';
import { SqliteAgreements } from './sqlite/agreements.js';
import { inspectLedgerFile, type LedgerFileKind } from './sqlite/inspect.js';
import { SqliteLock } from './sqlite/lock.js';
import { openDatabase, SqliteConnection, type LedgerOptions } from './sqlite/open.js';
import { SqliteRates } from './sqlite/rates.js';
import { SqliteReports } from './sqlite/reports.js';
import { SqliteRuns } from './sqlite/runs.js';
import { KeyedHash, resolveSecret } from './sqlite/secret.js';
import { SqliteSending } from './sqlite/sending.js';
import { SqliteStaging } from './sqlite/staging.js';
import { SqliteTargetBinding } from './sqlite/target.js';

// Every type the rest of the project imports from state/ledger.js stays here.
export type {
  AgreementHistoryEntry, AgreementInput, AgreementRow, AttemptRecord, BindResult, FailureGroup, LearnedRate, LedgerPort,
  LedgerTarget, LockHolder, MerchantCount, MerchantId, NotificationApplied, PendingRecord, QuotaStop, RateKey, RecordStatus,
  RejectRecord, ResultRecord, RunInfo, SecretSource, StageCounts, StagePolicy, StageRow, StatusTotal, TookOver,
} from './port.js';
export type { LedgerFileKind } from './sqlite/inspect.js';
export type { LedgerOptions } from './sqlite/open.js';

const DEFAULT_LEASE_MS = 120_000;

/**
 * The SQLite ledger (the LedgerPort adapter for one local file): every SQL statement of the project lives in
 * state/. This class only opens the file and hands each call to the part of state/sqlite/ that owns the concept:
 * secret.ts (the keyed hash), lock.ts, target.ts, runs.ts (+ the dry run of open.ts), staging.ts (with the rule
 * of state/staging-rule.ts), sending.ts, agreements.ts, reports.ts, rates.ts.
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

  constructor(path: string, options: LedgerOptions = {}) {
    this.path = path;
    const readonly = options.readonly ?? false;
    const { db, init: found } = openDatabase(path, readonly, (d) => resolveSecret(d, path, options, readonly));
    this.secretSource = found.source;
    const conn = (this.conn = new SqliteConnection(path, db, options.clock ?? Date.now));
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

  startRun(dataset: string, command: string, files: string[], dryRun: boolean): number {
    return this.runs.startRun(dataset, command, files, dryRun);
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

  stage(runId: number, dataset: string, rows: readonly StageRow[], policy: StagePolicy = 'snapshot'): StageCounts {
    return this.staging.stage(runId, dataset, rows, policy);
  }

  addRejects(runId: number, dataset: string, rejects: readonly RejectRecord[]): void {
    this.staging.addRejects(runId, dataset, rejects);
  }

  reviveRetryable(dataset: string): number {
    return this.staging.reviveRetryable(dataset);
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

  // ---------------------------------------------------------------- reports (sqlite/reports.ts, sqlite/runs.ts)

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

  /** Stops renewing the lock, drops an open dry run, folds the WAL (cleared payloads leave no copy) and closes. */
  close(): void {
    this.conn.close();
  }
}
