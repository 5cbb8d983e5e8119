import { ROW_STATES, type RowFilter, type RowState } from '../../state/ledger.js';
import { SyncError } from '../errors.js';
import { checkLedgerPath } from '../paths.js';
import type { Values } from '../settings.js';
import { stdoutStream, use, type CommandSpec } from './context.js';
import { examples } from './help.js';

/** `alipay-sync rows`: list the ledger's rows by state and filter, or one key's story (pipeline/rows.ts). */

function bad(message: string): never {
  throw new SyncError('SYNC_CONFIG_INVALID', message);
}

const FORMATS = ['table', 'csv', 'jsonl'] as const;

/** The filter the flags name, checked: a typo in a state or dataset is exit 2, not an empty list. */
export function rowFilter(v: Values, known: readonly string[]): RowFilter {
  const f: RowFilter = {};
  if (Array.isArray(v.status)) {
    // repeatable, and comma-separated: --status failed,rejected
    const states = v.status.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    const wrong = states.filter((s) => !(ROW_STATES as readonly string[]).includes(s));
    if (wrong.length) bad(`--status ${wrong.join(', ')}: the states are ${ROW_STATES.join(', ')}`);
    if (states.length) f.statuses = states as RowState[];
  }
  if (typeof v.dataset === 'string') {
    if (!known.includes(v.dataset)) bad(`--dataset ${v.dataset}: the datasets are ${known.join(', ')}`);
    f.dataset = v.dataset;
  }
  if (v.run !== undefined) {
    if (!Number.isInteger(v.run) || (v.run as number) < 1) bad(`--run must be a run number (see alipay-sync status), got ${String(v.run)}`);
    f.run = v.run as number;
  }
  if (typeof v.file === 'string') f.file = v.file;
  if (typeof v['sub-code'] === 'string') f.subCode = v['sub-code'];
  return f;
}

export const rowsCommand: CommandSpec = {
  command: 'rows',
  describe: 'list the ledger\'s rows by state (pending, uploaded, failed, rejected, superseded) and filter, or one key\'s whole story',
  uses: [
    use('ledger', { describe: 'the ledger to read (a SQLite file, or postgres://…)' }), use('schema'), use('status'), use('dataset'), use('run', { describe: 'only rows this run staged or sent (records), or read (rejected, superseded lines)' }), use('file'), use('sub-code'), use('key'), use('format'),
    use('bom'), use('verbose'), use('config'),
  ],
  fromEnv: true,
  build: (y) =>
    y.epilog(examples([
      ['$0 rows --status failed --ledger points.db', 'the rows Alipay refused or gave up on, with sub_code and reason'],
      ['$0 rows --status failed --sub-code INFOSEC_VERIFY_FAILED --format csv > refused.csv', 'one kind of refusal, for a spreadsheet'],
      ['$0 rows --status rejected --run 12', 'the invalid lines run 12 read, with line, field and reason'],
      ['$0 rows --key power_bank/E000042', 'one key: snapshots, attempts with codes and Alipay\'s trace ids, what Alipay holds'],
      ['$0 rows --format jsonl | jq -c \'select(.state == "pending")\'', 'everything, one JSON object a line, streamed'],
    ])),
  async run({ values: v }) {
    const format = String(v.format);
    if (!(FORMATS as readonly string[]).includes(format)) bad(`--format must be ${FORMATS.join(', ')} (got ${format})`);
    checkLedgerPath(String(v.ledger), { dryRun: false, readOnly: true, schema: String(v.schema) });
    const { LEDGER_DATASETS, printKeyStory, printRows } = await import('../rows.js');
    const filter = rowFilter(v, Object.keys(LEDGER_DATASETS));
    const note = (text: string) => void process.stderr.write(text + '\n');
    if (typeof v.key === 'string') {
      const others = (['status', 'run', 'file', 'sub-code'] as const).filter((n) => v[n] !== undefined);
      if (others.length) bad(`--key shows one key's whole story: leave out ${others.map((n) => `--${n}`).join(', ')} (--dataset may narrow it)`);
      const found = await printKeyStory({ ledgerPath: String(v.ledger), schema: String(v.schema), key: v.key, ...(filter.dataset ? { dataset: filter.dataset } : {}), format: format as 'table', out: stdoutStream, note });
      return found ? 0 : 1;
    }
    // on a terminal the table fits its width, as status does (csv and jsonl keep every reason whole)
    const width = process.stdout.isTTY ? Math.max(20, (process.stdout.columns || 80) - 1) : undefined;
    await printRows({ ledgerPath: String(v.ledger), schema: String(v.schema), filter, format: format as 'table', bom: v.bom !== false, out: width === undefined ? stdoutStream : { ...stdoutStream, width }, note });
    return 0;
  },
};
