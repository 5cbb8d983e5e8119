import { closeSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { describeLocation, isPostgresLocation, openLedger } from '../../state/open-ledger.js';
import { openPartial } from '../paths.js';
import { outputError } from '../rejects-file.js';
import { pickRun, reportData, type ReportData } from './data.js';
import { reportHtml } from './html.js';

/** `alipay-sync report`: one run of a ledger (the newest by default) as a self-contained HTML file. */
export interface ReportOptions {
  /** a SQLite file, or a postgres:// URL (then `schema`) */
  ledgerPath: string;
  schema?: string;
  runId?: number;
  html: string;
  clock?: () => number;
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '';
  }
}

/**
 * Read the run from the ledger (read-only), draw it, and write the file: to a partial file created 0600 beside
 * it (the report names keys and reasons), renamed over --html when complete.
 */
export async function writeReport(o: ReportOptions): Promise<ReportData> {
  const ledger = await openLedger(o.ledgerPath, { readonly: true, schema: o.schema });
  let data: ReportData;
  try {
    data = await reportData(ledger, await pickRun(ledger, o.runId));
  } finally {
    await ledger.close();
  }
  const name = isPostgresLocation(o.ledgerPath) ? describeLocation(o.ledgerPath, o.schema ?? 'alipay_sync') : o.ledgerPath;
  const html = reportHtml(data, { ledger: name, generatedAt: (o.clock ?? Date.now)(), version: version() });
  const { fd, partial } = openPartial('--html', o.html);
  try {
    writeSync(fd, html);
    closeSync(fd);
    renameSync(partial, o.html);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(partial, { force: true });
    throw outputError(o.html, err as Error);
  }
  return data;
}
