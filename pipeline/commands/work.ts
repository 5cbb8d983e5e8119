import { agreementDatasets, datasets } from '../../sources/index.js';
import type { Dataset } from '../../sources/dataset.js';
import { OUTPUT, runDataset, SENDING } from './run-dataset.js';
import type { CommandSpec } from './context.js';

/** The datasets a worker can send without reading files: every upload, and agreement effects (queries export what they stage). */
const SENDABLE: Record<string, Dataset> = { ...datasets, [agreementDatasets.effect.name]: agreementDatasets.effect };

/**
 * `work <dataset>`: an extra worker that reads no files. It sends the dataset's pending rows (staged by
 * `upload` runs, or left by runs that stopped) and ends when nothing is pending and no other run of the dataset
 * is still staging; on a PostgreSQL ledger, many such workers on many hosts share the rows and the rate limit.
 */
export const workCommand: CommandSpec = {
  command: 'work <dataset>',
  describe: `send what is pending in the ledger, reading no files (extra workers of a PostgreSQL ledger); datasets: ${Object.keys(SENDABLE).join(', ')}`,
  uses: [...SENDING, ...OUTPUT],
  fromEnv: true,
  build: (y) =>
    y
      .positional('dataset', { choices: Object.keys(SENDABLE), describe: 'whose pending rows to send' })
      .example('$0 work borrow-entities --ledger postgres://sync@db.internal/alipay --app-id 2021… --private-key key.txt --alipay-public-key alipay.txt', 'one more worker beside the upload runs'),
  async run(ctx) {
    const dataset = SENDABLE[ctx.args.dataset as string]!;
    if (dataset === agreementDatasets.effect) {
      const { effectSink } = await import('../agreements.js');
      return runDataset(dataset, ctx, [], { sendOnly: true, sink: effectSink });
    }
    return runDataset(dataset, ctx, [], { sendOnly: true });
  },
};
