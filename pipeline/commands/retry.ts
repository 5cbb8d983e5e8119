import { agreementDatasets, datasets } from '../../sources/index.js';
import type { Dataset } from '../../sources/dataset.js';
import { SyncError } from '../errors.js';
import { use, type CommandSpec } from './context.js';
import { examples } from './help.js';
import { CONFIG, CONFIG_IS } from './upload.js';
import { OUTPUT, runDataset, SENDING } from './run-dataset.js';

/**
 * `alipay-sync retry <dataset>`: send again the failed rows whose request body the ledger kept, without reading
 * any file (a refusal fixed on Alipay's side, a merchant's permission granted since, a sub_code you decided was
 * Alipay's mistake). Rows with personal data keep no body: their files are named, to read again with
 * `--retry-failed`. Exports (agreements query) are not retried here: a query's answer belongs to an export.
 */
const RETRIABLE: Readonly<Record<string, Dataset>> = {
  'borrow-entities': datasets['borrow-entities']!,
  'worker-contracts': datasets['worker-contracts']!,
  'agreement-effects': agreementDatasets.effect,
};

export const retryCommand: CommandSpec = {
  command: 'retry <dataset>',
  describe: 'send again the failed rows whose request the ledger kept, without reading files (personal-data rows: names the files to read again)',
  uses: [
    ...SENDING, ...OUTPUT,
    use('sub-code', { describe: 'only the failed rows whose last answer had this sub_code (else code), as status and rows --status failed show it' }),
    use('key', { describe: 'only this key (as rows lists it)' }),
    use('notify-url', { describe: 'agreement-effects: where Alipay sends dut_user_sign notifications (see notify serve)' }),
  ],
  fromEnv: true,
  build: (y) =>
    y
      .positional('dataset', { choices: Object.keys(RETRIABLE), describe: 'whose failed rows (agreement queries are asked again by agreements query)' })
      .epilog(examples([
        ['$0 rows --status failed --ledger points.db', 'first, see what failed and why'],
        [`$0 retry borrow-entities --sub-code INFOSEC_VERIFY_FAILED --ledger points.db ${CONFIG}`, `send again the rows Alipay refused for sensitive text (${CONFIG_IS})`],
        [`$0 retry agreement-effects --key 20245228000000000001 ${CONFIG}`, 'one agreement'],
      ])),
  async run(ctx) {
    const name = ctx.args.dataset as string;
    const dataset = RETRIABLE[name]!;
    const v = ctx.values;
    const notifyUrl = typeof v['notify-url'] === 'string' ? v['notify-url'] : undefined;
    if (notifyUrl && name !== 'agreement-effects') throw new SyncError('SYNC_CONFIG_INVALID', '--notify-url goes with retry agreement-effects');
    const revive = { ...(typeof v['sub-code'] === 'string' ? { subCode: v['sub-code'] } : {}), ...(typeof v.key === 'string' ? { key: v.key } : {}) };
    const { effectSink } = await import('../agreements.js');
    return runDataset(dataset, ctx, [], {
      revive, ...(name === 'agreement-effects' ? { sink: effectSink } : {}), ...(notifyUrl ? { notifyUrl } : {}),
    });
  },
};
