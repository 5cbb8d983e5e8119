import type { Encoding } from '../../sources/csv.js';
import { readCsvBatches } from '../../sources/csv.js';
import type { Ledger, RejectRecord } from '../../state/ledger.js';
import { BackgroundStager } from '../../state/stage-worker.js';
import { Progress, formatCount } from '../progress.js';
import type { RejectsFile } from '../rejects-file.js';
import { TOKEN_COLUMN, merchantLabel, type MerchantBook } from './merchants.js';
import { SHOW_FIRST, STAGE_BATCH, type UploadOptions } from './types.js';

/**
 * Staging: every file read and validated on this thread, valid rows handed in batches to the ledger's staging
 * thread (its own connection), rejects recorded with file, line and field. Stops between batches on Ctrl-C.
 */
export interface StageTotals {
  read: number;
  /** files that held a header and no data row */
  emptyFiles: string[];
  rejected: number;
  unchanged: number;
  interrupted: boolean;
  /** dry run: what would be sent */
  plan: { new: number; changed: number; carried?: number } | null;
}

export async function stageAll(
  o: UploadOptions, ledger: Ledger, ledgerPath: string, runId: number, rejectsFile: RejectsFile | null, encoding: Encoding, session: string | null,
  zeroBytes: ReadonlySet<string>, merchants: MerchantBook,
): Promise<StageTotals> {
  const { dataset, logger } = o;
  const totals: StageTotals = { read: 0, emptyFiles: [], rejected: 0, unchanged: 0, interrupted: false, plan: null };
  const progress = new Progress({
    stream: o.progressStream ?? process.stderr, label: `${o.dryRun ? 'checking' : 'staging'} ${dataset.name}`,
    intervalMs: o.progressIntervalMs, enabled: Boolean(o.progressStream),
  });
  // The ledger's upserts run on a worker thread (its own connection) while this thread reads and validates.
  // A dataset that asks again every run is staged by session (see sessionOf): its rows' snapshot is the session.
  const policy = session !== null ? 'snapshot' : dataset.sendPolicy ?? 'snapshot';
  const stager = new BackgroundStager({
    ledgerPath, runId, dataset: dataset.name, policy, dryRun: Boolean(o.dryRun), hashSecret: ledger.hashSecret!,
  });
  // Each row's merchant (its app_auth_token column, or --app-auth-token); sent along only when one is not ''.
  let rowMerchants: string[] = [];
  let anyMerchant = false;
  let keys: string[] = [];
  let snapshots: string[] = [];
  let payloads: string[] = [];
  let lines: number[] = [];
  let rejects: RejectRecord[] = [];
  const flush = async (file: string) => {
    if (keys.length || rejects.length) await stager.stage({ file, ...(anyMerchant ? { merchants: rowMerchants } : {}), keys, snapshots, payloads, lines, rejects });
    rowMerchants = [];
    anyMerchant = false;
    keys = [];
    snapshots = [];
    payloads = [];
    lines = [];
    rejects = [];
  };
  const reject = async (file: string, line: number, field: string, reason: string, cells: Record<string, string> | null) => {
    totals.rejected++;
    rejects.push({ file, line, field, reason });
    if (totals.rejected <= SHOW_FIRST) logger.warn(`${file}:${line}: rejected: ${field ? field + ': ' : ''}${reason}`);
    else if (totals.rejected === SHOW_FIRST + 1) logger.warn(`more rejected rows follow; ${o.rejectsPath ? `all are in ${o.rejectsPath}` : 'use --rejects <file> to get them all'} and in the ledger (alipay-sync status)`);
    if (rejectsFile) {
      // The token itself is a secret: the rejects file names the merchant by its id (a column of its own, when the run has merchants).
      const merchant = merchants.any && cells ? merchants.of(cells[TOKEN_COLUMN], file, line) : null;
      const safe = cells ? { ...dataset.safeCells(cells), ...(merchant && 'merchant' in merchant ? { merchant: merchantLabel(merchant.merchant) } : {}) } : null;
      await rejectsFile.write(file, line, field, reason, safe);
    }
  };
  const progressText = () => `${formatCount(totals.rejected)} rejected`;
  let finished = false;
  try {
    outer: for (const file of o.files) {
      if (zeroBytes.has(file)) {
        totals.emptyFiles.push(file);
        continue;
      }
      const before = totals.read;
      for await (const recs of readCsvBatches(file, { encoding })) for (const rec of recs) {
        totals.read++;
        if ('error' in rec) {
          await reject(file, rec.line, '', rec.error, null);
        } else {
          const v = dataset.validate(rec.cells);
          const m = merchants.of(rec.cells[TOKEN_COLUMN], file, rec.line);
          if ('error' in m) {
            await reject(file, rec.line, TOKEN_COLUMN, m.error, rec.cells);
          } else if (v.ok) {
            rowMerchants.push(m.merchant);
            if (m.merchant !== '') anyMerchant = true;
            // A key that may hold personal data is stored as a keyed hash (the ledger's secret), never in clear.
            keys.push(dataset.personalKey ? `h:${ledger.hash(v.row.key)}` : v.row.key);
            snapshots.push(session ?? v.row.snapshot);
            payloads.push(v.row.bizContent);
            lines.push(rec.line);
          } else {
            const fields = [...new Set(v.errors.map((e) => e.field))].join(' ');
            const reason = v.errors.length === 1 ? v.errors[0]!.reason : v.errors.map((e) => `${e.field}: ${e.reason}`).join('; ');
            await reject(file, rec.line, fields, reason, rec.cells);
          }
        }
        if (keys.length >= STAGE_BATCH || rejects.length >= STAGE_BATCH) {
          await flush(file);
          progress.update(totals.read, progressText);
          if (o.signal?.aborted) {
            totals.interrupted = true;
            break outer;
          }
        }
      }
      await flush(file);
      if (totals.read === before) totals.emptyFiles.push(file);
    }
    const done = await stager.finish();
    finished = true;
    totals.unchanged = done.unchanged;
    totals.plan = done.plan;
  } finally {
    if (!finished) await stager.abort();
    progress.stop();
  }
  if (totals.interrupted) logger.warn(`interrupted while staging: ${formatCount(totals.read)} rows read so far are in the ledger; run the same command again to continue`);
  return totals;
}
