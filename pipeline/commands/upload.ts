import { existsSync } from 'node:fs';
import { agreementDatasets, borrowEntitiesWith, datasets } from '../../sources/index.js';
import type { Dataset } from '../../sources/dataset.js';
import { parseEncoding } from '../../sources/csv.js';
import type { ResultSink } from '../agreements.js';
import { GATEWAYS, resolveSendSettings, type RawSettings } from '../config.js';
import { SyncError } from '../errors.js';
import { streamLogger } from '../log.js';
import { checkLedgerPath, checkOutputPath, resolveInputs } from '../paths.js';
import type { OptionUse, Values } from '../settings.js';
import { humanSummary } from '../summary.js';
import { interruptSignal, use, writeOut, type CommandContext, type CommandSpec } from './context.js';

/** `upload <dataset> <file..>` and `agreements <effect|query> <file..>`: one run of a dataset (runUpload). */

const SENDING: OptionUse[] = [
  use('gateway', { describe: `gateway URL, or "production" / "sandbox" (Alipay's own); production = ${GATEWAYS.production}` }),
  use('app-id'), use('private-key'), use('alipay-public-key'), use('sign-type'), use('app-auth-token'),
  use('qps'), use('wait-for-quota'), use('concurrency'), use('max-attempts'), use('request-timeout'), use('backoff-ms'),
];
const RUN: OptionUse[] = [
  use('ledger'), use('rebind-ledger'), use('encoding'), use('rejects'), use('allow-empty'), use('dry-run'), use('json'), use('verbose'), use('progress'), use('config'),
];

interface Extras {
  notifyUrl?: string;
  /** made only for a real run: a dry run stores and exports nothing */
  sink?: () => ResultSink;
  out?: string;
}

function rawSettings(v: Values): RawSettings {
  const s = (name: string) => (typeof v[name] === 'string' ? (v[name] as string) : undefined);
  const n = (name: string) => (typeof v[name] === 'number' ? (v[name] as number) : undefined);
  return {
    gateway: s('gateway'), appId: s('app-id'), privateKey: s('private-key'), alipayPublicKey: s('alipay-public-key'),
    signType: s('sign-type'), appAuthToken: s('app-auth-token'), qps: n('qps'), concurrency: n('concurrency'),
    maxAttempts: n('max-attempts'), requestTimeout: n('request-timeout'), backoffMs: n('backoff-ms'),
  };
}

function checkNotifyUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SyncError('SYNC_CONFIG_INVALID', `--notify-url must be an http(s) URL (got ${url.slice(0, 80)})`);
  }
  if (!/^https?:$/.test(parsed.protocol) || url.length > 256) {
    throw new SyncError('SYNC_CONFIG_INVALID', `--notify-url must be an http(s) URL of at most 256 characters (got ${url.slice(0, 80)})`);
  }
}

async function run(dataset: Dataset, ctx: CommandContext, rawFiles: string[], extras: Extras = {}): Promise<number> {
  const { values: v, origins, state } = ctx;
  const logger = streamLogger(process.stderr, v.verbose === true);
  const dryRun = v['dry-run'] === true;
  // Everything a user typed is checked before anything is read or sent: inputs, settings, keys, outputs.
  const files = resolveInputs(rawFiles, logger.warn);
  const encoding = parseEncoding(String(v.encoding));
  if (!encoding) throw new SyncError('SYNC_CONFIG_INVALID', `${origins.encoding === 'default' ? '--encoding' : origins.encoding} must be utf8, gbk or gb18030 (got ${String(v.encoding)})`);
  if (extras.notifyUrl !== undefined) checkNotifyUrl(extras.notifyUrl);
  const settings = resolveSendSettings(rawSettings(v), origins);
  const ledgerPath = String(v.ledger);
  checkLedgerPath(ledgerPath, { dryRun });
  const rejects = typeof v.rejects === 'string' ? v.rejects : undefined;
  // Files this run reads besides the inputs: an output must never overwrite them (a key, the config file).
  const reads: { label: string; path: string }[] = [];
  for (const [name, label] of [['private-key', 'the --private-key file'], ['alipay-public-key', 'the --alipay-public-key file'], ['config', 'the --config file']] as const) {
    const p = v[name];
    if (typeof p === 'string' && p.length < 1024 && !p.includes('-----BEGIN') && existsSync(p)) reads.push({ label, path: p });
  }
  if (rejects !== undefined) checkOutputPath('--rejects', rejects, { inputs: files, ledger: ledgerPath, reads });
  if (extras.out !== undefined) {
    checkOutputPath('--out', extras.out, { inputs: files, ledger: ledgerPath, reads: rejects ? [...reads, { label: '--rejects', path: rejects }] : reads });
  }
  const { AlipayClient } = await import('../alipay/client.js');
  const { runUpload } = await import('../upload.js');
  const client = dryRun ? null : new AlipayClient({ ...settings, requestTimeoutMs: settings.requestTimeoutMs, connections: settings.concurrency });
  try {
    const { summary, exitCode } = await runUpload({
      dataset, files, ledgerPath, client, target: settings.target, hashKey: settings.hashKey, rebind: v['rebind-ledger'] === true,
      encoding, dryRun, rejectsPath: rejects, allowEmpty: v['allow-empty'] === true, fresh: v.fresh === true,
      qps: settings.qps, concurrency: settings.concurrency, maxAttempts: settings.maxAttempts, backoffMs: settings.backoffMs,
      ...(settings.appAuthToken ? { appAuthToken: settings.appAuthToken } : {}), waitForQuota: v['wait-for-quota'] === true,
      logger, progressStream: v.progress === false ? undefined : process.stderr, signal: interruptSignal(logger, () => state.json),
      command: ctx.command, notifyUrl: extras.notifyUrl, sink: dryRun ? undefined : extras.sink?.(),
    });
    const text = humanSummary(summary, rejects);
    if (state.json) {
      process.stderr.write(text + '\n');
      writeOut(JSON.stringify({ ...summary, exit_code: exitCode }) + '\n');
    } else {
      writeOut(text + '\n');
    }
    state.printedJson = state.json;
    return exitCode;
  } finally {
    await client?.close();
  }
}

export const uploadCommand: CommandSpec = {
  command: 'upload <dataset> <file..>',
  describe: `upload CSV exports (datasets: ${Object.keys(datasets).join(', ')})`,
  uses: [...SENDING, ...RUN, use('allow-test-category')],
  fromEnv: true,
  build: (y) =>
    y
      .positional('dataset', { choices: Object.keys(datasets), describe: 'what the files hold' })
      .positional('file', { type: 'string', array: true, describe: 'CSV files (several, or a pattern such as exports/*.csv), with a header row of the API field names' })
      .example('$0 upload borrow-entities points.csv --app-id 2021… --private-key app_private_key.txt --alipay-public-key alipay_public_key.txt', 'sync borrow points to production Alipay')
      .example('$0 upload borrow-entities export-*.csv --encoding gbk --rejects rejects.csv --qps 20', 'GBK exports, bad rows to rejects.csv, at most 20 requests/s')
      .example('$0 upload borrow-entities points.csv --dry-run', 'validate, check every setting and show what would be sent; send nothing'),
  run(ctx) {
    let dataset = datasets[ctx.args.dataset as string]!;
    if (ctx.values['allow-test-category'] === true) {
      if (dataset !== datasets['borrow-entities']) throw new SyncError('SYNC_CONFIG_INVALID', '--allow-test-category goes with upload borrow-entities');
      dataset = borrowEntitiesWith({ allowTestCategory: true });
    }
    return run(dataset, ctx, ctx.args.file as string[]);
  },
};

export const agreementsCommand: CommandSpec = {
  command: 'agreements <action> <file..>',
  describe: 'user agreements (代扣协议): `effect` makes TEMP agreements effective; `query` exports users\' agreements (needs --out)',
  uses: [...SENDING, ...RUN, use('notify-url'), use('out'), use('fresh')],
  fromEnv: true,
  build: (y) =>
    y
      .positional('action', { choices: ['effect', 'query'], describe: 'effect: alipay.user.agreement.sign.effect · query: alipay.user.agreement.batch.query' })
      .positional('file', { type: 'string', array: true, describe: 'CSV files, with a header row of the API field names' })
      .example('$0 agreements effect temp-agreements.csv --rejects rejects.csv', 'make every TEMP agreement in the file effective; rows already NORMAL are skipped')
      .example('$0 agreements query users.csv --out agreements.csv', 'export every agreement of every user in users.csv')
      .example('$0 agreements query users.csv --out agreements.jsonl --qps 10', 'the same as JSON Lines, gently'),
  async run(ctx) {
    const v = ctx.values;
    const out = typeof v.out === 'string' ? v.out : undefined;
    const notifyUrl = typeof v['notify-url'] === 'string' ? v['notify-url'] : undefined;
    const files = ctx.args.file as string[];
    const { querySink, effectSink } = await import('../agreements.js');
    if (ctx.args.action === 'query') {
      if (!out && v['dry-run'] !== true) throw new SyncError('SYNC_CONFIG_INVALID', 'agreements query needs --out <file> (.csv, or .jsonl for JSON Lines)');
      if (notifyUrl) throw new SyncError('SYNC_CONFIG_INVALID', '--notify-url goes with agreements effect, not query');
      return run(agreementDatasets.query, ctx, files, { sink: () => querySink(out!), ...(out ? { out } : {}) });
    }
    if (out) throw new SyncError('SYNC_CONFIG_INVALID', '--out goes with agreements query, not effect');
    if (v.fresh === true) throw new SyncError('SYNC_CONFIG_INVALID', '--fresh goes with agreements query, not effect');
    return run(agreementDatasets.effect, ctx, files, { sink: effectSink, ...(notifyUrl ? { notifyUrl } : {}) });
  },
};
