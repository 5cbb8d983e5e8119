import { agreementDatasets, borrowEntitiesWith, datasets } from '../../sources/index.js';
import type { Dataset } from '../../sources/dataset.js';
import { SyncError } from '../errors.js';
import { use, type CommandSpec } from './context.js';
import { columnsHelp, examples } from './help.js';
import { OUTPUT, READING, runDataset, SENDING } from './run-dataset.js';

/**
 * `upload <dataset> <file..>` and `agreements <effect|query> <file..>`: one command per dataset, so that
 * `upload borrow-entities --help` lists that dataset's columns and rules (from its field table) and examples.
 */

const FILES = 'CSV files (several, or a pattern such as exports/*.csv), with a header row naming the columns below';

function datasetCommand(o: {
  name: string; dataset: Dataset; describe: string; uses: CommandSpec['uses'];
  examples: readonly (readonly [string, string])[]; run: CommandSpec['run'];
}): CommandSpec {
  return {
    command: `${o.name} <file..>`,
    describe: o.describe,
    uses: o.uses,
    fromEnv: true,
    build: (y) =>
      y
        .positional('file', { type: 'string', array: true, describe: FILES })
        .epilog(`${columnsHelp(o.dataset)}\n\n${examples(o.examples)}`),
    run: o.run,
  };
}

const KEYS = '--app-id 2021… --private-key app_private_key.txt --alipay-public-key alipay_public_key.txt';
/** Every example runs as written: with the key flags, or with them in a config file (a dry run needs them too). */
const CONFIG = '--config alipay.json';
const CONFIG_IS = 'alipay.json holds the settings: {"app-id": "2021…", "private-key": "app_private_key.txt", "alipay-public-key": "alipay_public_key.txt"}';

export { CONFIG, CONFIG_IS };

export const uploadCommand: CommandSpec = {
  command: 'upload',
  describe: `upload CSV exports (datasets: ${Object.keys(datasets).join(', ')})`,
  uses: [],
  fromEnv: true,
  subcommands: [
    datasetCommand({
      name: 'borrow-entities', dataset: datasets['borrow-entities']!,
      describe: 'borrow points of the credit borrow-and-return scene',
      uses: [...SENDING, ...READING, ...OUTPUT, use('allow-test-category')],
      examples: [
        [`$0 upload borrow-entities points.csv ${KEYS}`, 'sync borrow points to production Alipay'],
        [`$0 upload borrow-entities points.csv ${CONFIG} --dry-run`, `validate, check every setting and show what would be sent; send nothing (${CONFIG_IS})`],
        [`$0 upload borrow-entities export-*.csv ${CONFIG} --encoding gbk --rejects rejects.csv --qps 20`, 'GBK exports, bad rows to rejects.csv, at most 20 requests/s'],
        [`$0 upload borrow-entities points.csv ${CONFIG} --retry-failed --sub-code INFOSEC_VERIFY_FAILED`, 'send again the rows Alipay refused for sensitive text, unchanged'],
      ],
      run(ctx) {
        const dataset = ctx.values['allow-test-category'] === true ? borrowEntitiesWith({ allowTestCategory: true }) : datasets['borrow-entities']!;
        return runDataset(dataset, ctx, ctx.args.file as string[]);
      },
    }),
    datasetCommand({
      name: 'worker-contracts', dataset: datasets['worker-contracts']!,
      describe: 'signed gig-worker contracts; names, ID numbers and phones stay masked',
      uses: [...SENDING, ...READING, ...OUTPUT],
      examples: [
        [`$0 upload worker-contracts contracts.csv ${KEYS} --rejects rejects.csv`, 'upload contracts; invalid rows, masked, to rejects.csv'],
        [`$0 upload worker-contracts contracts.csv ${CONFIG} --retry-failed`, `send again the contracts Alipay refused, unchanged (their bodies are not kept: the file is read; ${CONFIG_IS})`],
      ],
      run: (ctx) => runDataset(datasets['worker-contracts']!, ctx, ctx.args.file as string[]),
    }),
  ],
};

export const agreementsCommand: CommandSpec = {
  command: 'agreements',
  describe: 'user agreements (代扣协议): `effect` makes TEMP agreements effective; `query` exports users\' agreements (needs --out)',
  uses: [],
  fromEnv: true,
  subcommands: [
    datasetCommand({
      name: 'effect', dataset: agreementDatasets.effect,
      describe: 'make TEMP agreements effective',
      uses: [...SENDING, ...READING, ...OUTPUT, use('notify-url')],
      examples: [
        [`$0 agreements effect temp-agreements.csv ${CONFIG} --rejects rejects.csv`, `make every TEMP agreement in the file effective; rows already NORMAL are skipped (${CONFIG_IS})`],
        [`$0 agreements effect temp-agreements.csv ${CONFIG} --notify-url https://example.com/alipay/notify`, 'and have Alipay announce each one (see notify serve)'],
      ],
      async run(ctx) {
        const notifyUrl = typeof ctx.values['notify-url'] === 'string' ? ctx.values['notify-url'] : undefined;
        const { effectSink } = await import('../agreements.js');
        return runDataset(agreementDatasets.effect, ctx, ctx.args.file as string[], { sink: effectSink, ...(notifyUrl ? { notifyUrl } : {}) });
      },
    }),
    datasetCommand({
      name: 'query', dataset: agreementDatasets.query,
      describe: 'export users\' agreements',
      uses: [...SENDING, ...READING, ...OUTPUT, use('out'), use('fresh')],
      examples: [
        [`$0 agreements query users.csv ${CONFIG} --out agreements.csv`, `export every agreement of every user in users.csv (${CONFIG_IS})`],
        [`$0 agreements query users.csv ${CONFIG} --out agreements.jsonl --qps 10`, 'the same as JSON Lines, gently'],
      ],
      async run(ctx) {
        const v = ctx.values;
        const out = typeof v.out === 'string' ? v.out : undefined;
        if (!out && v['dry-run'] !== true) throw new SyncError('SYNC_CONFIG_INVALID', 'agreements query needs --out <file> (.csv, or .jsonl for JSON Lines)');
        const { querySink } = await import('../agreements.js');
        return runDataset(agreementDatasets.query, ctx, ctx.args.file as string[], { sink: () => querySink(out!, { bom: v.bom !== false }), ...(out ? { out } : {}) });
      },
    }),
  ],
};
