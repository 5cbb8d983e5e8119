import { SyncError } from '../errors.js';
import { checkLedgerPath, checkOutputPath } from '../paths.js';
import { stdoutSink, use, type CommandSpec } from './context.js';
import { examples } from './help.js';

/** `alipay-sync report [--run N] --html report.html`: a run as one self-contained HTML file. */
export const reportCommand: CommandSpec = {
  command: 'report',
  describe: 'write a run\'s report as one self-contained HTML file: counts, send rate against --qps with 40005 slow-downs, latency, answers by code, slowest and failed keys',
  uses: [
    use('ledger', { describe: 'the ledger to read (a SQLite file, or postgres://…)' }), use('schema'), use('run'), use('html'), use('json', { describe: 'print what was written as JSON' }), use('verbose'), use('config'),
  ],
  fromEnv: true,
  build: (y) =>
    y.epilog(examples([
      ['$0 report --html report.html --ledger /var/lib/alipay-sync/points.db', 'last night\'s run, to open in any browser (it loads nothing)'],
      ['$0 report --run 12 --html run-12.html', 'one run by its number (alipay-sync status lists them)'],
    ])),
  async run({ values: v, state }) {
    const html = typeof v.html === 'string' ? v.html : undefined;
    if (!html) throw new SyncError('SYNC_CONFIG_INVALID', 'report needs --html <file> (the report is written there)');
    const run = v.run as number | undefined;
    if (run !== undefined && (!Number.isInteger(run) || run < 1)) throw new SyncError('SYNC_CONFIG_INVALID', `--run must be a run number (got ${String(run)})`);
    const ledger = String(v.ledger);
    checkLedgerPath(ledger, { dryRun: false, readOnly: true, schema: String(v.schema) });
    checkOutputPath('--html', html, { inputs: [], ledger });
    const { writeReport } = await import('../report/write.js');
    const d = await writeReport({ ledgerPath: ledger, schema: String(v.schema), html, ...(run !== undefined ? { runId: run } : {}) });
    const p95 = d.latency.p95 === null ? '' : `, p95 ${Math.round(d.latency.p95)} ms`;
    const line = `wrote ${html}: run ${d.run.id} (${d.run.dataset}, ${d.run.status}), ${d.requests.total.toLocaleString('en-US')} requests${p95}`;
    if (state.json) stdoutSink.write(JSON.stringify({ status: 'written', html, run_id: d.run.id, dataset: d.run.dataset, requests: d.requests.total, exit_code: 0 }) + '\n');
    else stdoutSink.write(line + '\n');
    state.printedJson = state.json;
    return 0;
  },
};
