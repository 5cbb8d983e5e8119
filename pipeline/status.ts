import { Ledger } from '../state/ledger.js';
import { formatCount } from './progress.js';
import { describeReset } from './rate/daily.js';
import { merchantLabel } from './run/merchants.js';
import { redactCommandText } from './settings.js';

export interface StatusOptions {
  ledgerPath: string;
  runs: number;
  json: boolean;
  out: { write(text: string): unknown };
  /** now, for which daily quotas are still spent (tests) */
  clock?: () => number;
}

const COUNTS = ['read', 'rejected', 'superseded', 'skipped', 'uploaded', 'failed', 'pending'] as const;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/**
 * `alipay-sync status`: recent runs and their counts, what the ledger holds (per merchant when it has merchants),
 * failures by sub_code, daily quotas found spent (until when, and how to go on), and the rates learned.
 */
export function printStatus(o: StatusOptions): number {
  const ledger = new Ledger(o.ledgerPath, { readonly: true });
  const now = (o.clock ?? Date.now)();
  try {
    // Older versions recorded some spellings of secret flags with their values: never show those.
    const runs = ledger.recentRuns(o.runs).map((r) => ({ ...r, command: redactCommandText(r.command) }));
    const totals = ledger.totals();
    const failures = ledger.failuresBySubCode();
    const stops = ledger.quotaStops().filter((s) => Date.parse(s.until) > now);
    const rates = ledger.learnedRates();
    const merchants = totals.some((t) => t.merchant !== '') || failures.some((f) => f.merchant !== '');
    if (o.json) {
      const quota = stops.map((s) => ({ ...s, merchant: merchantLabel(s.merchant), merchant_id: s.merchant, resets_at_beijing: describeReset(Date.parse(s.until)) }));
      o.out.write(JSON.stringify({ runs, totals, failures, quota_spent: quota, learned_rates: rates, exit_code: 0 }) + '\n');
      return 0;
    }
    if (runs.length === 0) {
      o.out.write(`${o.ledgerPath}: no runs yet\n`);
      return 0;
    }
    o.out.write(`Recent runs (${o.ledgerPath}):\n`);
    const rows = [['run', 'dataset', 'started (UTC)', 'status', 'exit', ...COUNTS]];
    for (const r of runs) {
      const s = r.summary ?? {};
      rows.push([
        String(r.id), r.dataset, r.startedAt.replace('T', ' ').slice(0, 19), r.dryRun && r.status === 'dry-run' ? 'dry-run' : r.status,
        r.exitCode === null ? '' : String(r.exitCode), ...COUNTS.map((c) => (typeof s[c] === 'number' ? formatCount(s[c] as number) : '')),
      ]);
    }
    o.out.write(table(rows) + '\n');
    for (const r of runs) if (r.message) o.out.write(`  run ${r.id}: ${r.message}\n`);
    if (totals.length) {
      o.out.write('\nLedger holds:\n');
      const head = merchants ? ['dataset', 'merchant', 'status', 'rows'] : ['dataset', 'status', 'rows'];
      o.out.write(table([head, ...totals.map((t) => [t.dataset, ...(merchants ? [merchantLabel(t.merchant)] : []), t.status, formatCount(t.count)])]) + '\n');
    }
    if (failures.length) {
      o.out.write('\nFailed rows by sub_code (rerun the same files to try them again):\n');
      const head = merchants ? ['dataset', 'merchant', 'sub_code', 'rows', 'example reason'] : ['dataset', 'sub_code', 'rows', 'example reason'];
      o.out.write(table([head, ...failures.map((f) => [f.dataset, ...(merchants ? [merchantLabel(f.merchant)] : []), f.subCode, formatCount(f.count), f.example ?? ''])]) + '\n');
    }
    if (stops.length) {
      o.out.write('\nDaily quota spent (its rows stay pending until it resets; run the same command again after that, or with --wait-for-quota):\n');
      o.out.write(table([['merchant', 'method', 'resets at', 'why'], ...stops.map((s) => [merchantLabel(s.merchant), s.method, describeReset(Date.parse(s.until)), s.reason])]) + '\n');
    }
    if (rates.length) {
      o.out.write('\nRates learned (where the next run starts, below --qps):\n');
      o.out.write(table([['merchant', 'method', 'rate/s', 'quota/s', 'learned (UTC)'], ...rates.map((r) => [
        merchantLabel(r.merchant), r.method, r.rate.toFixed(1), r.quota === null ? 'not reached' : String(r.quota), (r.updatedAt ?? '').replace('T', ' ').slice(0, 19),
      ])]) + '\n');
    }
    return 0;
  } finally {
    ledger.close();
  }
}
