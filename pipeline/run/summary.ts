import { EXIT } from '../errors.js';
import type { UploadSummary } from './types.js';

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
  stop?: { kind: 'abort' | 'interrupt'; reason: string; code?: string; subCode?: string } | null;
}

export function summarize(p: SummaryParts): UploadSummary {
  const interrupted = p.staged.interrupted || p.stop?.kind === 'interrupt';
  const aborted = p.stop?.kind === 'abort';
  const stagedByMe = p.mine.pending + p.mine.uploaded + p.mine.failed;
  const s: UploadSummary = {
    run_id: p.runId, dataset: p.dataset, read: p.staged.read, rejected: p.staged.rejected,
    superseded: p.staged.read - p.staged.rejected - p.staged.unchanged - stagedByMe, unchanged: p.staged.unchanged,
    uploaded: p.mine.uploaded, failed: p.mine.failed, pending: p.mine.pending, duration_ms: p.durationMs,
    status: interrupted ? 'interrupted' : aborted ? 'aborted' : p.dryRun ? 'dry-run' : 'done', dry_run: p.dryRun,
    ...(p.plan ? { plan: p.plan } : {}),
    still_refused: p.staged.refused, carried_over: p.carried, retries: p.retries, empty_files: p.staged.emptyFiles,
    ...(p.revived ? { retried: p.revived.revived, read_again: p.revived.withoutBody } : {}),
    ...(p.sent ? { sent: { rows: p.sent.uploaded + p.sent.failed, uploaded: p.sent.uploaded, failed: p.sent.failed, duration_ms: p.sent.ms } } : {}),
  };
  if (aborted && p.stop) {
    s.abort_reason = p.stop.reason;
    s.stop = { code: p.stop.code ?? 'ABORTED', ...(p.stop.subCode ? { sub_code: p.stop.subCode } : {}), message: p.stop.reason };
  }
  return s;
}

/** The one place a finished run's exit code is decided from its counts (see EXIT in errors.ts). */
export function exitCodeOf(s: UploadSummary, allowEmpty: boolean): number {
  if (s.status === 'interrupted') return EXIT.INTERRUPTED;
  if (s.status === 'aborted') return EXIT.GATEWAY;
  const c = s.carried_over;
  const readAgain = (s.read_again ?? []).reduce((n, f) => n + f.rows, 0);
  const trouble = s.rejected + s.failed + c.failed + readAgain + (s.dry_run ? 0 : s.pending + c.pending);
  return trouble > 0 || (!allowEmpty && s.empty_files.length > 0) ? EXIT.ROWS : EXIT.OK;
}
