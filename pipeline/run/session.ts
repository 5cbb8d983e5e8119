import { resolve } from 'node:path';
import type { Dataset } from '../../sources/dataset.js';
import type { RunInfo } from '../../state/ledger.js';
import type { AnyLedger } from '../../state/open-ledger.js';
import type { Logger } from '../log.js';
import { RESUME_WINDOW_MS } from './types.js';

/**
 * Datasets that ask again every run (queries) send each row once per export "session": a run that follows an
 * interrupted, aborted or crashed one of the same dataset within 24 h continues its session (the rows that one
 * finished are skipped as unchanged), any other starts a new one. The session is the start time of its first
 * run, used as the rows' snapshot, so the ledger's own rules (newest snapshot wins) do the skipping.
 */
export async function sessionOf(ledger: AnyLedger, dataset: Dataset, runId: number, now: number, fresh: boolean, files: readonly string[], logger: Logger): Promise<string | null> {
  if (dataset.sendPolicy !== 'always') return null;
  let session = '';
  let resumed: RunInfo | null = null;
  let mine = new Date(now).toISOString();
  for (const r of await ledger.recentRuns(100, dataset.name)) {
    if (r.id === runId) {
      // this run's own start, exactly as recorded: the next run may continue its session
      mine = r.startedAt;
      if (fresh) break;
      continue;
    }
    if (r.dryRun) continue;
    if (r.status === 'done' || now - Date.parse(r.startedAt) > RESUME_WINDOW_MS) break;
    // Only the same question continues: another set of files (tonight's list of users) starts a new export.
    if (!sameFiles(r.files, files)) break;
    session = r.startedAt;
    resumed ??= r;
  }
  if (fresh || !resumed) return mine;
  logger.info(`continuing run ${resumed.id} of ${session.replace('T', ' ').slice(0, 19)} UTC, which did not finish (${resumed.status}): rows it already sent are not sent again (--fresh to send every row)`);
  return session;
}

function sameFiles(a: readonly string[], b: readonly string[]): boolean {
  const norm = (l: readonly string[]) => [...new Set(l.map((f) => resolve(f)))].sort().join('\n');
  return norm(a) === norm(b);
}
