import type {
  LearnedRate, MerchantCount, QuotaStop, RateKey,
  AgreementCount, AgreementInput, AgreementRow, AttemptRecord, BindResult, FailedRevived, FailureGroup, KeyStory, LedgerPort,
  LedgerTarget, LockHolder, NotificationApplied, NotificationCounts, PendingRecord, RecordStatus, RejectRecord, ResultRecord,
  RetryRefused, RowFilter, RowView, RunInfo, RunSettings, RunTiming, RunTimingBatch, SecretSource, SendPolicy, StageCounts, StageRow,
  StatusTotal, TookOver,
} from '../port.js';
import { KeyedHash } from '../keyed-hash.js';
import { PgAgreements } from './agreements.js';
import { PgCertificates } from './certificates.js';
import { PgConnection, type PgLedgerOptions } from './connection.js';
import { PgPacing } from './pacing.js';
import { PgRates } from './rates.js';
import { PgReports } from './reports.js';
import { PgRows } from './rows.js';
import { PgRuns } from './runs.js';
import { checkSchema, migrate } from './schema.js';
import { resolvePgSecret } from './secret.js';
import { PgSending } from './sending.js';
import { PgStaging } from './staging.js';
import { PgTargetBinding } from './target.js';
import { PgTiming } from './timing.js';
import { PgWorkers } from './workers.js';

export type { PgLedgerOptions } from './connection.js';

/**
 * The PostgreSQL ledger (the LedgerPort adapter in async mode): one schema of one database, shared by any number
 * of workers on any number of hosts. This class only opens it (PgLedger.open: the schema created and migrated,
 * the hash secret found) and hands each call to the part of state/postgres/ that owns the concept: workers.ts
 * (heartbeats instead of a run lock), target.ts, runs.ts, staging.ts, sending.ts (claims as leases), pacing.ts
 * (the shared rate limit), agreements.ts, reports.ts, certificates.ts.
 */
export class PgLedger implements LedgerPort<'async'> {
  readonly shared = true;
  readonly pacing: PgPacing;
  readonly where: string;
  private readonly workers: PgWorkers;
  private readonly target: PgTargetBinding;
  private readonly runs: PgRuns;
  private readonly staging: PgStaging;
  private readonly sending: PgSending;
  private readonly agreements: PgAgreements;
  private readonly reports: PgReports;
  private readonly certificates: PgCertificates;
  private readonly timing: PgTiming;
  private readonly rates: PgRates;
  private readonly listing: PgRows;

  private constructor(
    private readonly c: PgConnection,
    private readonly hasher: KeyedHash,
    readonly secretSource: SecretSource,
    o: PgLedgerOptions,
  ) {
    this.where = c.where;
    const hash = (text: string) => hasher.hash(text);
    this.workers = new PgWorkers(c, o.host);
    c.onClose = async () => this.workers.stopRenewing();
    this.target = new PgTargetBinding(c);
    this.runs = new PgRuns(c);
    this.staging = new PgStaging(c, hash);
    this.sending = new PgSending(c);
    this.agreements = new PgAgreements(c, o.clock ?? Date.now);
    this.reports = new PgReports(c);
    this.pacing = new PgPacing(c);
    this.certificates = new PgCertificates(c);
    this.timing = new PgTiming(c);
    this.rates = new PgRates(c);
    this.listing = new PgRows(c);
  }

  /**
   * Connect, create and migrate the schema (read-only: only check it holds a ledger) and find the hash secret.
   * A dry run does all of it inside one transaction that close() rolls back: it leaves no trace, not even a schema.
   */
  static async open(url: string, o: PgLedgerOptions = {}): Promise<PgLedger> {
    const c = new PgConnection(url, o);
    try {
      if (o.dryRun) await c.beginDryRun();
      if (c.readonly || o.mustExist) await checkSchema(c);
      if (!c.readonly) await migrate(c);
      const found = await resolvePgSecret(c, o.hashKey, { rebind: o.rebind, dryRun: o.dryRun });
      return new PgLedger(c, new KeyedHash(found.secret, c.where), found.source, o);
    } catch (err) {
      await c.close();
      throw c.fail(err);
    }
  }

  /** This writer's identity on claims and its worker row (tests). */
  get worker(): string {
    return this.c.worker;
  }

  hash(text: string): string {
    return this.hasher.hash(text);
  }

  bindTarget(t: LedgerTarget, o: { rebind?: boolean; dryRun?: boolean } = {}): Promise<BindResult> {
    return this.target.bindTarget(t, o);
  }

  acquireLock(): Promise<{ tookOver: TookOver | null }> {
    return this.workers.acquireLock();
  }

  lockHolder(): Promise<LockHolder | null> {
    return this.workers.lockHolder();
  }

  releaseLock(): Promise<void> {
    return this.workers.releaseLock();
  }

  startRun(dataset: string, command: string, files: string[], dryRun: boolean, settings?: RunSettings): Promise<number> {
    return this.runs.startRun(dataset, command, files, dryRun, settings);
  }

  finishRun(runId: number, status: string, exitCode: number, summary: Record<string, unknown>, message?: string): Promise<void> {
    return this.runs.finishRun(runId, status, exitCode, summary, message);
  }

  /** A dry-run ledger is one transaction from open to close already (open with dryRun): nothing more to begin. */
  beginDryRun(): Promise<void> {
    return this.c.beginDryRun();
  }

  rollbackDryRun(): Promise<void> {
    return this.c.rollbackDryRun();
  }

  stage(runId: number, dataset: string, rows: readonly StageRow[], policy: SendPolicy = 'snapshot', retry: RetryRefused | null = null): Promise<StageCounts> {
    return this.staging.stage(runId, dataset, rows, policy, retry);
  }

  addRejects(runId: number, dataset: string, rejects: readonly RejectRecord[]): Promise<void> {
    return this.staging.addRejects(runId, dataset, rejects);
  }

  reviveRetryable(dataset: string): Promise<number> {
    return this.staging.reviveRetryable(dataset);
  }

  reviveFailed(dataset: string, o?: { subCode?: string; key?: string }): Promise<FailedRevived> {
    return this.staging.reviveFailed(dataset, o);
  }

  stagedPlan(runId: number, dataset: string): Promise<{ new: number; changed: number }> {
    return this.staging.stagedPlan(runId, dataset);
  }

  countPending(dataset: string): Promise<number> {
    return this.staging.countPending(dataset);
  }

  dropPendingOutside(dataset: string, snapshot: string): Promise<number> {
    return this.staging.dropPendingOutside(dataset, snapshot);
  }

  stagingDone(runId: number): Promise<void> {
    return this.runs.stagingDone(runId);
  }

  claimPending(dataset: string, afterRowid: number, limit: number, merchant?: string): Promise<PendingRecord[]> {
    return this.sending.claimPending(dataset, afterRowid, limit, merchant);
  }

  pendingByMerchant(dataset: string): Promise<{ merchant: string; count: number }[]> {
    return this.staging.pendingByMerchant(dataset);
  }

  recordAttempt(a: AttemptRecord): Promise<void> {
    return this.sending.recordAttempt(a);
  }

  recordResult(r: ResultRecord, attempt?: AttemptRecord): Promise<void> {
    return this.sending.recordResult(r, attempt);
  }

  recordResults(items: readonly { result: ResultRecord; attempt?: AttemptRecord | undefined }[]): Promise<void> {
    return this.sending.recordResults(items);
  }

  outstanding(dataset: string, runId: number): Promise<{ pending: number; staging: number }> {
    return this.sending.outstanding(dataset, runId);
  }

  upsertAgreement(a: AgreementInput, source: 'effect' | 'query' | 'notify', runId?: number): Promise<{ changed: boolean }> {
    return this.agreements.upsertAgreement(a, source, runId);
  }

  applyNotification(notifyId: string, a: AgreementInput, notifyTime?: string): Promise<NotificationApplied> {
    return this.agreements.applyNotification(notifyId, a, notifyTime);
  }

  agreement(agreementNo: string): Promise<AgreementRow | undefined> {
    return this.agreements.agreement(agreementNo);
  }

  recordTiming(runId: number, batch: RunTimingBatch): Promise<void> {
    return this.timing.recordTiming(runId, batch);
  }

  runTiming(runId: number): Promise<RunTiming> {
    return this.timing.runTiming(runId);
  }

  runInfo(runId: number): Promise<RunInfo | undefined> {
    return this.runs.runInfo(runId);
  }

  agreementCounts(): Promise<AgreementCount[]> {
    return this.reports.agreementCounts();
  }

  notificationCounts(): Promise<NotificationCounts> {
    return this.reports.notificationCounts();
  }

  rows(filter?: RowFilter): AsyncIterableIterator<RowView> {
    return this.listing.rows(filter);
  }

  keyStory(key: string, dataset?: string): Promise<KeyStory[]> {
    return this.listing.keyStory(key, dataset);
  }

  runOutcomes(runId: number, dataset: string): Promise<Record<RecordStatus, number>> {
    return this.reports.runOutcomes(runId, dataset);
  }

  recentRuns(limit = 10, dataset?: string): Promise<RunInfo[]> {
    return this.runs.recentRuns(limit, dataset);
  }

  failuresBySubCode(dataset?: string): Promise<FailureGroup[]> {
    return this.reports.failuresBySubCode(dataset);
  }

  totals(): Promise<StatusTotal[]> {
    return this.reports.totals();
  }

  sessionResults(dataset: string, snapshot: string): AsyncIterableIterator<string | null> {
    return this.reports.sessionResults(dataset, snapshot);
  }

  record(dataset: string, key: string, merchant?: string): Promise<Record<string, unknown> | undefined> {
    return this.reports.record(dataset, key, merchant);
  }

  runOutcomesByMerchant(runId: number, dataset: string): Promise<MerchantCount[]> {
    return this.reports.runOutcomesByMerchant(runId, dataset);
  }

  learnedRates(appId?: string, method?: string): Promise<LearnedRate[]> {
    return this.rates.learnedRates(appId, method);
  }

  saveLearnedRates(rates: readonly LearnedRate[], runId?: number): Promise<void> {
    return this.rates.saveLearnedRates(rates, runId);
  }

  quotaStops(appId?: string): Promise<QuotaStop[]> {
    return this.rates.quotaStops(appId);
  }

  saveQuotaStop(stop: QuotaStop): Promise<void> {
    return this.rates.saveQuotaStop(stop);
  }

  clearQuotaStop(key: RateKey): Promise<void> {
    return this.rates.clearQuotaStop(key);
  }

  keptCertificates(): Promise<string[]> {
    return this.certificates.keptCertificates();
  }

  keepCertificate(sn: string, pem: string): Promise<void> {
    return this.certificates.keepCertificate(sn, pem);
  }

  setCertificateExpiries(json: string): Promise<void> {
    return this.certificates.setCertificateExpiries(json);
  }

  certificateExpiries(): Promise<string | undefined> {
    return this.certificates.certificateExpiries();
  }

  /** Stops the heartbeat, rolls a dry run back and ends the pool (a run releases its claims first: releaseLock). */
  close(): Promise<void> {
    return this.c.close();
  }
}
