import { closeSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { Ledger } from '../../state/ledger.js';
import { openPartial } from '../paths.js';
import { outputError } from '../rejects-file.js';
import { pickRun, reportData, type ReportData } from './data.js';
import { reportHtml } from './html.js';

/** `alipay-sync report`: one run of a ledger (the newest by default) as a self-contained HTML file. */
export interface ReportOptions {
  ledgerPath: string;
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
export function writeReport(o: ReportOptions): ReportData {
  const ledger = new Ledger(o.ledgerPath, { readonly: true });
  let data: ReportData;
  try {
    data = reportData(ledger, pickRun(ledger, o.runId));
  } finally {
    ledger.close();
  }
  const html = reportHtml(data, { ledger: o.ledgerPath, generatedAt: (o.clock ?? Date.now)(), version: version() });
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
