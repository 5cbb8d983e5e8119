import { statSync } from 'node:fs';
import type { Encoding } from '../../sources/csv.js';
import { readCsvBatches } from '../../sources/csv.js';
import { DirectStager } from '../../state/direct-stager.js';
import { Ledger, type RejectRecord } from '../../state/ledger.js';
import type { AnyLedger } from '../../state/open-ledger.js';
import { BackgroundStager } from '../../state/stage-worker.js';
import { formatRate } from '../format.js';
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
  /** refused by Alipay before, unchanged: not sent again (counted among the run's failed rows) */
  refused: number;
  interrupted: boolean;
  /** dry run: what would be sent */
  plan: { new: number; changed: number; carried?: number } | null;
}

/** What the header check found: files of 0 bytes (counted as empty, not read), and rejects files fed back. */
export interface FileKinds {
  zeroBytes: ReadonlySet<string>;
  rejectsFiles: ReadonlySet<string>;
}

/** The original file and line a rejects file names for one of its rows (its own `file` and `line` columns). */
function originOf(cells: Readonly<Record<string, string>>): { file: string; line: number } | null {
  const file = cells.file?.trim();
  const line = Number(cells.line);
  return file && Number.isInteger(line) && line > 0 ? { file, line } : null;
}

export async function stageAll(
  o: UploadOptions, ledger: AnyLedger, ledgerPath: string, runId: number, rejectsFile: RejectsFile | null, encoding: Encoding, session: string | null,
  kinds: FileKinds & { merchants: MerchantBook },
): Promise<StageTotals> {
  const { dataset, logger } = o;
  const { zeroBytes, rejectsFiles, merchants } = kinds;
  // A rejects file shows personal cells masked: fed back, such a row would send the stars.
  const personal = dataset.fields.filter((f) => f.personal).map((f) => f.name);
  const masked = (cells: Readonly<Record<string, string>>) => personal.find((name) => cells[name]?.includes('*'));
  const totals: StageTotals = { read: 0, emptyFiles: [], rejected: 0, unchanged: 0, refused: 0, interrupted: false, plan: null };
  // Progress by bytes read: the files' sizes are known before reading, their row counts are not.
  const sizes = o.files.map((f) => (zeroBytes.has(f) ? 0 : statSync(f).size));
  const progress = new Progress({
    stream: o.progressStream ?? process.stderr, label: `${o.dryRun ? 'checking' : 'staging'} ${dataset.name}`,
    total: sizes.reduce((a, b) => a + b, 0), unit: 'bytes', intervalMs: o.progressIntervalMs, enabled: Boolean(o.progressStream),
  });
  // SQLite: the ledger's upserts run on a worker thread (its own connection) while this thread reads and
  // validates. PostgreSQL: the server works in parallel already; batches go straight through the port, in order.
  // A dataset that asks again every run is staged by session (see sessionOf): its rows' snapshot is the session.
  const policy = session !== null ? 'snapshot' : dataset.sendPolicy ?? 'snapshot';
  const stager = ledger instanceof Ledger
    ? new BackgroundStager({ ledgerPath, runId, dataset: dataset.name, policy, retry: o.retryFailed ?? null, dryRun: Boolean(o.dryRun), hashSecret: ledger.hashSecret! })
    : new DirectStager(ledger, { runId, dataset: dataset.name, policy, retry: o.retryFailed ?? null, dryRun: Boolean(o.dryRun) });
  // Each row's merchant (its app_auth_token column, or --app-auth-token); sent along only when one is not ''.
  let rowMerchants: string[] = [];
  let anyMerchant = false;
  let keys: string[] = [];
  let snapshots: string[] = [];
  let bizContents: string[] = [];
  let lines: number[] = [];
  let rejects: RejectRecord[] = [];
  let formerKeys: string[] = [];
  const flush = async (file: string) => {
    if (keys.length || rejects.length) await stager.stage({ file, ...(anyMerchant ? { merchants: rowMerchants } : {}), keys, snapshots, bizContents, lines, rejects, ...(dataset.hashedKeysBefore ? { formerKeys } : {}) });
    rowMerchants = [];
    anyMerchant = false;
    keys = [];
    formerKeys = [];
    snapshots = [];
    bizContents = [];
    lines = [];
    rejects = [];
  };
  const reject = async (file: string, line: number, field: string, reason: string, cells: Record<string, string> | null) => {
    totals.rejected++;
    rejects.push({ file, line, field, reason });
    // A row of a rejects file fed back keeps naming where it came from: the original export's file and line.
    const from = rejectsFiles.has(file) && cells ? originOf(cells) : null;
    if (totals.rejected <= SHOW_FIRST) logger.warn(`${file}:${line}${from ? ` (from ${from.file}:${from.line})` : ''}: rejected: ${field ? field + ': ' : ''}${reason}`);
    else if (totals.rejected === SHOW_FIRST + 1) logger.warn(`more rejected rows follow; ${o.rejectsPath ? `all are in ${o.rejectsPath}` : 'use --rejects <file> to get them all'} and in the ledger (alipay-sync status)`);
    if (rejectsFile) {
      // The token itself is a secret: the rejects file names the merchant by its id (a column of its own, when the run has merchants).
      const merchant = merchants.any && cells ? merchants.of(cells[TOKEN_COLUMN], file, line) : null;
      const safe = cells ? { ...dataset.safeCells(cells), ...(merchant && 'merchant' in merchant ? { merchant: merchantLabel(merchant.merchant) } : {}) } : null;
      await rejectsFile.write(from?.file ?? file, from?.line ?? line, field, reason, safe);
    }
  };
  const progressText = () => {
    const secs = progress.elapsedMs / 1000;
    return [`${formatCount(totals.read)} rows${secs > 0 ? ` (${formatRate(totals.read / secs)}/s)` : ''}`, `${formatCount(totals.rejected)} rejected`];
  };
  progress.update(0, progressText);
  let bytesBefore = 0;
  let finished = false;
  try {
    outer: for (const [i, file] of o.files.entries()) {
      if (zeroBytes.has(file)) {
        totals.emptyFiles.push(file);
        continue;
      }
      const before = totals.read;
      const onBytes = (n: number) => progress.update(bytesBefore + n);
      for await (const recs of readCsvBatches(file, { encoding, onBytes })) for (const rec of recs) {
        totals.read++;
        if ('error' in rec) {
          await reject(file, rec.line, '', rec.error, null);
        } else if (rejectsFiles.has(file) && personal.length && masked(rec.cells) !== undefined) {
          const name = masked(rec.cells)!;
          await reject(file, rec.line, name, 'is masked (a rejects file never holds personal data in clear): take this row from the original export, whose file and line the rejects file names', rec.cells);
        } else {
          const v = dataset.validate(rec.cells);
          const m = merchants.of(rec.cells[TOKEN_COLUMN], file, rec.line);
          if ('error' in m) {
            await reject(file, rec.line, TOKEN_COLUMN, m.error, rec.cells);
          } else if (v.ok) {
            rowMerchants.push(m.merchant);
            if (m.merchant !== '') anyMerchant = true;
            // A key that holds personal data is stored as a keyed hash (the ledger's secret), never in clear.
            keys.push(v.row.personalKey ? `h:${ledger.hash(v.row.key)}` : v.row.key);
            if (dataset.hashedKeysBefore) formerKeys.push(v.row.personalKey ? '' : `h:${ledger.hash(v.row.key)}`);
            snapshots.push(session ?? v.row.snapshot);
            bizContents.push(v.row.bizContent);
            lines.push(rec.line);
          } else {
            const fields = [...new Set(v.errors.map((e) => e.field))].join(' ');
            const reason = v.errors.length === 1 ? v.errors[0]!.reason : v.errors.map((e) => `${e.field}: ${e.reason}`).join('; ');
            await reject(file, rec.line, fields, reason, rec.cells);
          }
        }
        if (keys.length >= STAGE_BATCH || rejects.length >= STAGE_BATCH) {
          await flush(file);
          if (o.signal?.aborted) {
            totals.interrupted = true;
            break outer;
          }
        }
      }
      await flush(file);
      bytesBefore += sizes[i]!;
      progress.update(bytesBefore);
      if (totals.read === before) totals.emptyFiles.push(file);
    }
    const done = await stager.finish();
    finished = true;
    totals.unchanged = done.unchanged;
    totals.refused = done.refused;
    totals.plan = done.plan;
  } finally {
    if (!finished) await stager.abort();
    progress.finish(finished && !totals.interrupted ? 'done' : 'stopped');
  }
  if (totals.interrupted) logger.warn(`interrupted while staging: ${formatCount(totals.read)} rows read so far are in the ledger; run the same command again to continue`);
  return totals;
}
