import { Ledger } from '../state/ledger.js';
import { expiryWarnings, type CertExpiry } from './alipay/certs.js';
import { formatCount } from './progress.js';
import { redactCommandText } from './settings.js';

export interface StatusOptions {
  ledgerPath: string;
  runs: number;
  json: boolean;
  out: { write(text: string): unknown };
}

const COUNTS = ['read', 'rejected', 'superseded', 'unchanged', 'uploaded', 'failed', 'pending'] as const;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** `alipay-sync status`: recent runs and their counts, what the ledger holds, and failures by sub_code. */
export function printStatus(o: StatusOptions): number {
  const ledger = new Ledger(o.ledgerPath, { readonly: true });
  try {
    // Older versions recorded some spellings of secret flags with their values: never show those.
    const runs = ledger.recentRuns(o.runs).map((r) => ({ ...r, command: redactCommandText(r.command) }));
    const totals = ledger.totals();
    const failures = ledger.failuresBySubCode();
    const certificates = certificatesOf(ledger);
    if (o.json) {
      o.out.write(JSON.stringify({ runs, totals, failures, ...(certificates.length ? { certificates } : {}), exit_code: 0 }) + '\n');
      return 0;
    }
    if (runs.length === 0) {
      o.out.write(`${o.ledgerPath}: no runs yet\n`);
      return 0;
    }
    o.out.write(`Recent runs (${o.ledgerPath}):\n`);
    const rows = [['run', 'dataset', 'started (UTC)', 'status', 'exit', ...COUNTS]];
    for (const r of runs) {
      // Runs recorded before 0.2 called the unchanged count `skipped`.
      const s: Record<string, unknown> = { unchanged: r.summary?.['skipped'], ...r.summary };
      rows.push([
        String(r.id), r.dataset, r.startedAt.replace('T', ' ').slice(0, 19), r.dryRun && r.status === 'dry-run' ? 'dry-run' : r.status,
        r.exitCode === null ? '' : String(r.exitCode), ...COUNTS.map((c) => (typeof s[c] === 'number' ? formatCount(s[c] as number) : '')),
      ]);
    }
    o.out.write(table(rows) + '\n');
    for (const r of runs) if (r.message) o.out.write(`  run ${r.id}: ${r.message}\n`);
    if (totals.length) {
      o.out.write('\nLedger holds:\n');
      o.out.write(table([['dataset', 'status', 'rows'], ...totals.map((t) => [t.dataset, t.status, formatCount(t.count)])]) + '\n');
    }
    if (failures.length) {
      o.out.write('\nFailed rows by sub_code (rerun the same files to try them again):\n');
      o.out.write(table([['dataset', 'sub_code', 'rows', 'example reason'], ...failures.map((f) => [f.dataset, f.subCode, formatCount(f.count), f.example ?? ''])]) + '\n');
    }
    if (certificates.length) {
      const list = certificates.map((c) => `${c.role === 'app' ? 'app' : 'Alipay'} ${c.sn} until ${c.validTo.slice(0, 10)}`).join(', ');
      o.out.write(`\ncertificates: ${list}\n`);
      for (const w of expiryWarnings(certificates, Date.now())) o.out.write(`warning: ${w}\n`);
    }
    return 0;
  } finally {
    ledger.close();
  }
}

/** Certificate mode: when the certificates the last run used end (written at its start, and at each rotation). */
function certificatesOf(ledger: Ledger): CertExpiry[] {
  try {
    const list = JSON.parse(ledger.certificateExpiries() ?? '[]') as unknown;
    return Array.isArray(list) ? (list as CertExpiry[]) : [];
  } catch {
    return [];
  }
}
