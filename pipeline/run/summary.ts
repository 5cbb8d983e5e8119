import type { MerchantCount } from '../../state/ledger.js';
import { EXIT } from '../errors.js';
import { describeReset } from '../rate/daily.js';
import type { MerchantReport } from './send.js';
import type { MerchantSummary, UploadSummary } from './types.js';

/**
 * The summary, computed in one place for real runs and dry runs: counts that add up
 * (read = rejected + superseded + unchanged + uploaded + failed + pending) and the exit code they mean.
 */
export interface SummaryParts {
  runId: number;
  dataset: string;
  staged: { read: number; rejected: number; unchanged: number; refused: number; interrupted: boolean; emptyFiles: string[] };
  /** the final state of the rows this run staged (a dry run: what it would send, all pending) */
  mine: { uploaded: number; failed: number; pending: number };
  carried: { uploaded: number; failed: number; pending: number };
  retries: number;
  /** what sending did (real runs): rows answered, by outcome, and how long it took */
  sent?: { uploaded: number; failed: number; ms: number };
  durationMs: number;
  dryRun: boolean;
  plan?: { new: number; changed: number };
  /** `retry`: rows revived from the ledger, and the files of those it could not (no body kept) */
  revived?: { revived: number; withoutBody: { file: string | null; rows: number }[] };
  stop?: { kind: 'abort' | 'interrupt' | 'quota'; reason: string; code?: string; subCode?: string } | null;
  /** quota: when the daily quota resets (ms) */
  quotaResetsAt?: number;
  /** per merchant: the rows this run staged by status, and each merchant's turn */
  merchants?: { counts: MerchantCount[]; reports: MerchantReport[] };
}

/** Per-merchant counts and turns, for the merchants of this run's rows and those it sent for. */
function merchantSummaries(m: NonNullable<SummaryParts['merchants']>): MerchantSummary[] {
  const byId = new Map<string, MerchantSummary>();
  const entry = (id: string, label: string) => {
    let e = byId.get(id);
    if (!e) byId.set(id, (e = { merchant: label, id, uploaded: 0, failed: 0, pending: 0, rates: [] }));
    return e;
  };
  for (const c of m.counts) entry(c.merchant, c.merchant === '' ? 'no merchant' : `#${c.merchant.slice(0, 8)}`)[c.status] += c.count;
  for (const r of m.reports) {
    const e = entry(r.merchant, r.label);
    if (r.firstSeen) e.first_seen = r.firstSeen;
    if (r.notSent) e.not_sent = r.notSent;
    if (r.stopped) e.stopped = { code: r.stopped.code, ...(r.stopped.subCode ? { sub_code: r.stopped.subCode } : {}), message: r.stopped.reason };
    if (r.spentUntil !== undefined) e.quota_spent_until = new Date(r.spentUntil).toISOString();
    e.rates = r.rates.map((x) => ({ method: x.method, rate: Number.isFinite(x.rate) ? Math.round(x.rate * 100) / 100 : null, quota: x.quota, throttled: x.throttled }));
  }
  return [...byId.values()];
}

export function summarize(p: SummaryParts): UploadSummary {
  const interrupted = p.staged.interrupted || p.stop?.kind === 'interrupt';
  const aborted = p.stop?.kind === 'abort';
  const quota = p.stop?.kind === 'quota';
  const stagedByMe = p.mine.pending + p.mine.uploaded + p.mine.failed;
  const s: UploadSummary = {
    run_id: p.runId, dataset: p.dataset, read: p.staged.read, rejected: p.staged.rejected,
    superseded: p.staged.read - p.staged.rejected - p.staged.unchanged - stagedByMe, unchanged: p.staged.unchanged,
    uploaded: p.mine.uploaded, failed: p.mine.failed, pending: p.mine.pending, duration_ms: p.durationMs,
    status: interrupted ? 'interrupted' : aborted ? 'aborted' : quota ? 'quota-spent' : p.dryRun ? 'dry-run' : 'done', dry_run: p.dryRun,
    ...(p.plan ? { plan: p.plan } : {}),
    still_refused: p.staged.refused, carried_over: p.carried, retries: p.retries, empty_files: p.staged.emptyFiles,
    ...(p.revived ? { retried: p.revived.revived, read_again: p.revived.withoutBody } : {}),
    ...(p.sent ? { sent: { rows: p.sent.uploaded + p.sent.failed, uploaded: p.sent.uploaded, failed: p.sent.failed, duration_ms: p.sent.ms } } : {}),
  };
  if ((aborted || quota) && p.stop) {
    if (aborted) s.abort_reason = p.stop.reason;
    s.stop = { code: p.stop.code ?? 'ABORTED', ...(p.stop.subCode ? { sub_code: p.stop.subCode } : {}), message: p.stop.reason };
  }
  const merchants = p.merchants ? merchantSummaries(p.merchants) : [];
  if (quota && p.quotaResetsAt !== undefined) {
    s.quota = {
      resets_at: new Date(p.quotaResetsAt).toISOString(), resets_at_beijing: describeReset(p.quotaResetsAt),
      resume: `run the same command again after ${describeReset(p.quotaResetsAt)}, or now with --wait-for-quota (it sleeps until then)`,
      merchants: merchants.filter((m) => m.quota_spent_until).map((m) => m.merchant),
    };
  }
  // Shown when the run has merchants, or learned something of a rate (the --json summary is unchanged otherwise).
  if (merchants.some((m) => m.id !== '' || m.rates.some((r) => r.throttled > 0 || r.quota !== null))) s.merchants = merchants;
  return s;
}

/** The one place a finished run's exit code is decided from its counts (see EXIT in errors.ts). */
export function exitCodeOf(s: UploadSummary, allowEmpty: boolean): number {
  if (s.status === 'interrupted') return EXIT.INTERRUPTED;
  if (s.status === 'quota-spent') return EXIT.QUOTA;
  if (s.status === 'aborted') return EXIT.GATEWAY;
  const c = s.carried_over;
  const readAgain = (s.read_again ?? []).reduce((n, f) => n + f.rows, 0);
  const trouble = s.rejected + s.failed + c.failed + readAgain + (s.dry_run ? 0 : s.pending + c.pending);
  return trouble > 0 || (!allowEmpty && s.empty_files.length > 0) ? EXIT.ROWS : EXIT.OK;
}
