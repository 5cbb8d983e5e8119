#!/usr/bin/env node
import { existsSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { agreementDatasets, borrowEntitiesWith, datasets } from '../sources/index.js';
import type { Dataset } from '../sources/dataset.js';
import { parseEncoding } from '../sources/csv.js';
import { resolveSendSettings, GATEWAYS, type RawSettings } from './config.js';
import { EXIT, exitCodeFor, SyncError } from './errors.js';
import { streamLogger, type Logger } from './log.js';
import type { ResultSink } from './agreements.js';
import { humanSummary } from './summary.js';
import { checkLedgerPath, checkOutputPath, resolveInputs } from './paths.js';
import {
  OPTIONS, mergeSettings, normalizeArgv, parseBoolean, redactArgv, scrub, envName,
  type OptionName, type OptionUse, type Origins, type Values,
} from './settings.js';
// Each command imports what it needs when it runs (the HTTP client, the ledger, the sandbox): `--help` and
// `status` start in a fraction of the time, and a migration's CPU is spent on the migration.

/**
 * The command line: a thin yargs layer over the library. yargs parses the command line only; settings.ts merges
 * it with the environment and the --config file per command. This is the only module that reads process.env or
 * decides how the process ends: every exit code comes from errors.ts (EXIT, exitCodeFor).
 */

const u = (name: OptionName, o: Omit<OptionUse, 'name'> = {}): OptionUse => ({ name, ...o });

const SENDING_USES: OptionUse[] = [
  u('gateway', { describe: `gateway URL, or "production" / "sandbox" (Alipay's own); production = ${GATEWAYS.production}` }),
  u('app-id'), u('private-key'), u('alipay-public-key'), u('sign-type'), u('app-auth-token'),
  u('qps'), u('concurrency'), u('max-attempts'), u('request-timeout'), u('backoff-ms'),
];
const RUN_USES: OptionUse[] = [
  u('ledger'), u('rebind-ledger'), u('encoding'), u('rejects'), u('allow-empty'), u('dry-run'), u('json'), u('verbose'), u('progress'), u('config'),
];
const UPLOAD_USES = [...SENDING_USES, ...RUN_USES, u('allow-test-category')];
const AGREEMENT_USES = [...UPLOAD_USES, u('notify-url'), u('out'), u('fresh')];
const NOTIFY_USES: OptionUse[] = [
  u('port', { default: 8788 }), u('host'), u('ledger', { describe: 'the ledger whose agreements it updates' }),
  u('alipay-public-key', { describe: 'Alipay public key file that notifications are verified with' }),
  u('app-id', { describe: 'refuse notifications for any other app' }), u('verbose'), u('config'),
];
const STATUS_USES: OptionUse[] = [u('ledger', { describe: 'the ledger to read' }), u('runs'), u('json', { describe: 'print it as JSON' }), u('config')];
const SANDBOX_USES: OptionUse[] = [
  u('port', { default: 8787, describe: 'loopback port (0: any free one)' }),
  u('app-id', { describe: 'the app id it accepts [default: 2021000000000001]' }),
  u('app-public-key'), u('alipay-private-key'), u('keys-dir'), u('fault'), u('slow-ms'), u('fault-seed'), u('fault-max-per-request'),
  u('agreements'), u('quota'), u('behave'),
];
// The demo (like the sandbox) reads no environment and no config file: exported production settings must not
// steer `npm start`.
const DEMO_USES: OptionUse[] = [
  u('ledger', { default: './.demo/alipay-sync.db', describe: 'the demo ledger (kept between runs: a second run skips everything)' }),
  u('examples'), u('json', { describe: 'print JSON summaries' }),
];

function addOptions<T>(y: Argv<T>, uses: readonly OptionUse[]): Argv<T> {
  for (const use of uses) {
    const spec = OPTIONS[use.name];
    const def = use.default ?? ('default' in spec ? spec.default : undefined);
    const describe = (use.describe ?? spec.describe) + (def !== undefined && spec.type !== 'boolean' ? ` [default: ${String(def)}]` : '');
    y.option(use.name, {
      // Numbers are read as text and checked by settings.ts, so that `--qps fast` says what is wrong and where.
      type: spec.type === 'boolean' ? 'boolean' : 'string',
      ...(spec.type === 'list' ? { array: true } : {}),
      describe,
      ...('group' in spec && spec.group ? { group: spec.group } : {}),
    });
  }
  return y;
}

/** Ctrl-C / SIGTERM: the first asks the run to settle and stop; the second quits at once (unsent rows stay pending). */
function interruptSignal(logger: Logger, json: () => boolean): AbortSignal {
  const ac = new AbortController();
  const onSignal = () => {
    if (ac.signal.aborted) {
      logger.warn('second interrupt: quitting now; rows in flight stay pending and are sent by the next run');
      if (json()) writeOut(JSON.stringify({ status: 'interrupted', exit_code: EXIT.INTERRUPTED }) + '\n');
      process.exit(EXIT.INTERRUPTED);
    }
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac.signal;
}

/** stdout may be a pipe that closed early (`| head -1`): what can no longer be read is not an error. */
let stdoutClosed = false;
function writeOut(text: string): void {
  if (!stdoutClosed) process.stdout.write(text);
}

interface UploadExtras {
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

async function upload(dataset: Dataset, v: Values, origins: Origins, rawFiles: string[], command: string, state: CommandState, extras: UploadExtras = {}): Promise<number> {
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
  const { AlipayClient } = await import('./alipay/client.js');
  const { runUpload } = await import('./upload.js');
  const client = dryRun ? null : new AlipayClient({ ...settings, requestTimeoutMs: settings.requestTimeoutMs, connections: settings.concurrency });
  try {
    const { summary, exitCode } = await runUpload({
      dataset, files, ledgerPath, client, target: settings.target, hashKey: settings.hashKey, rebind: v['rebind-ledger'] === true,
      encoding, dryRun, rejectsPath: rejects, allowEmpty: v['allow-empty'] === true, fresh: v.fresh === true,
      qps: settings.qps, concurrency: settings.concurrency, maxAttempts: settings.maxAttempts, backoffMs: settings.backoffMs,
      logger, progressStream: v.progress === false ? undefined : process.stderr, signal: interruptSignal(logger, () => state.json),
      command, notifyUrl: extras.notifyUrl, sink: dryRun ? undefined : extras.sink?.(),
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

/** What the handlers tell main(): whether --json is in force and whether a JSON line was already printed. */
interface CommandState {
  json: boolean;
  verbose: boolean;
  printedJson: boolean;
}

/** A first guess at --json and --verbose, for errors raised before the settings are merged. */
function guessFlag(argv: readonly string[], env: NodeJS.ProcessEnv, name: string): boolean {
  for (let i = argv.length - 1; i >= 0; i--) {
    if (argv[i] === `--${name}`) return true;
    if (argv[i] === `--no-${name}`) return false;
  }
  try {
    const e = env[envName(name)];
    return e !== undefined && e !== '' && parseBoolean(e, envName(name));
  } catch {
    return false;
  }
}

export async function main(rawArgv: string[] = hideBin(process.argv), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const state: CommandState = { json: guessFlag(rawArgv, env, 'json'), verbose: guessFlag(rawArgv, env, 'verbose'), printedJson: false };
  let exit = 0;
  try {
    const argv = normalizeArgv(rawArgv);
    state.json = guessFlag(argv, env, 'json');
    state.verbose = guessFlag(argv, env, 'verbose');
    const command = redactArgv(argv).join(' ');
    const set = (p: Promise<number>) => p.then((code) => void (exit = code));
    /** Merge a command's settings, print their warnings, and note --json/--verbose for the way out. */
    const settle = (uses: readonly OptionUse[], a: Record<string, unknown>, fromEnv = true) => {
      const merged = mergeSettings(uses, a, fromEnv ? env : {});
      const logger = streamLogger(process.stderr, false);
      for (const w of merged.warnings) logger.warn(w);
      state.json = merged.values.json === true;
      state.verbose = merged.values.verbose === true;
      return merged;
    };
    const parser = yargs(argv)
      .scriptName('alipay-sync')
      .usage('$0 <command> [options]\n\nKeep Alipay in step with your CSV exports: validate every row, sign and send under a rate limit, and keep a SQLite ledger so any run can be stopped and rerun to finish, without re-sending rows.')
      .command(
        'upload <dataset> <file..>',
        `upload CSV exports (datasets: ${Object.keys(datasets).join(', ')})`,
        (y) =>
          addOptions(y, UPLOAD_USES)
            .positional('dataset', { choices: Object.keys(datasets), describe: 'what the files hold' })
            .positional('file', { type: 'string', array: true, describe: 'CSV files (several, or a pattern such as exports/*.csv), with a header row of the API field names' })
            .example('$0 upload borrow-entities points.csv --app-id 2021… --private-key app_private_key.txt --alipay-public-key alipay_public_key.txt', 'sync borrow points to production Alipay')
            .example('$0 upload borrow-entities export-*.csv --encoding gbk --rejects rejects.csv --qps 20', 'GBK exports, bad rows to rejects.csv, at most 20 requests/s')
            .example('$0 upload borrow-entities points.csv --dry-run', 'validate, check every setting and show what would be sent; send nothing'),
        (a) => {
          const m = settle(UPLOAD_USES, a);
          let dataset = datasets[a.dataset as string]!;
          if (m.values['allow-test-category'] === true) {
            if (dataset !== datasets['borrow-entities']) throw new SyncError('SYNC_CONFIG_INVALID', '--allow-test-category goes with upload borrow-entities');
            dataset = borrowEntitiesWith({ allowTestCategory: true });
          }
          return set(upload(dataset, m.values, m.origins, a.file as string[], command, state));
        },
      )
      .command(
        'agreements <action> <file..>',
        'user agreements (代扣协议): `effect` makes TEMP agreements effective; `query` exports users\' agreements (needs --out)',
        (y) =>
          addOptions(y, AGREEMENT_USES)
            .positional('action', { choices: ['effect', 'query'], describe: 'effect: alipay.user.agreement.sign.effect · query: alipay.user.agreement.batch.query' })
            .positional('file', { type: 'string', array: true, describe: 'CSV files, with a header row of the API field names' })
            .example('$0 agreements effect temp-agreements.csv --rejects rejects.csv', 'make every TEMP agreement in the file effective; rows already NORMAL are skipped')
            .example('$0 agreements query users.csv --out agreements.csv', 'export every agreement of every user in users.csv')
            .example('$0 agreements query users.csv --out agreements.jsonl --qps 10', 'the same as JSON Lines, gently'),
        (a) => {
          const { values: v, origins } = settle(AGREEMENT_USES, a);
          const out = typeof v.out === 'string' ? v.out : undefined;
          const notifyUrl = typeof v['notify-url'] === 'string' ? v['notify-url'] : undefined;
          const files = a.file as string[];
          if (a.action === 'query') {
            if (!out && v['dry-run'] !== true) throw new SyncError('SYNC_CONFIG_INVALID', 'agreements query needs --out <file> (.csv, or .jsonl for JSON Lines)');
            if (notifyUrl) throw new SyncError('SYNC_CONFIG_INVALID', '--notify-url goes with agreements effect, not query');
            return set(import('./agreements.js').then(({ querySink }) =>
              upload(agreementDatasets.query, v, origins, files, command, state, { sink: () => querySink(out!), ...(out ? { out } : {}) })));
          }
          if (out) throw new SyncError('SYNC_CONFIG_INVALID', '--out goes with agreements query, not effect');
          if (v.fresh === true) throw new SyncError('SYNC_CONFIG_INVALID', '--fresh goes with agreements query, not effect');
          return set(import('./agreements.js').then(({ effectSink }) =>
            upload(agreementDatasets.effect, v, origins, files, command, state, { sink: effectSink, ...(notifyUrl ? { notifyUrl } : {}) })));
        },
      )
      .command(
        'notify serve',
        'receive Alipay\'s dut_user_sign notifications: verify each, update the agreement in the ledger, answer `success`',
        (y) =>
          addOptions(y, NOTIFY_USES)
            .example('$0 notify serve --port 8788 --alipay-public-key alipay_public_key.txt --app-id 2021…', 'then pass --notify-url https://your.host/alipay/notify to agreements effect'),
        (a) => {
          const { values: v } = settle(NOTIFY_USES, a);
          // A receiver on a mistyped ledger would answer Alipay `success` for notices the real ledger never sees.
          checkLedgerPath(String(v.ledger), { dryRun: false, mustExist: 'notify serve updates the agreements of an existing ledger: check --ledger, or run agreements effect first' });
          return set(import('./notify/command.js').then(({ runNotifyCommand }) => runNotifyCommand({
            port: v.port as number, host: String(v.host), ledger: String(v.ledger),
            alipayPublicKey: v['alipay-public-key'] as string | undefined, appId: v['app-id'] as string | undefined,
          }, streamLogger(process.stderr, v.verbose === true))));
        },
      )
      .command(
        'status',
        'recent runs with their counts, and failed rows grouped by sub_code',
        (y) => addOptions(y, STATUS_USES).example('$0 status --ledger /var/lib/alipay-sync/points.db', 'what happened last night'),
        (a) => {
          const { values: v } = settle(STATUS_USES, a);
          if (!Number.isInteger(v.runs) || (v.runs as number) < 1) throw new SyncError('SYNC_CONFIG_INVALID', `--runs must be a whole number of 1 or more (got ${String(v.runs)})`);
          checkLedgerPath(String(v.ledger), { dryRun: false, readOnly: true });
          return set(import('./status.js').then(({ printStatus }) => {
            const code = printStatus({ ledgerPath: String(v.ledger), runs: v.runs as number, json: v.json === true, out: { write: (t: string) => (writeOut(t), true) } as unknown as NodeJS.WritableStream });
            state.printedJson = state.json;
            return code;
          }));
        },
      )
      .command(
        'sandbox',
        'run a local gateway that behaves like Alipay (signatures, answers, faults), for trials and tests',
        (y) =>
          addOptions(y, SANDBOX_USES)
            .example('$0 sandbox --port 8787', 'keys made once in ./sandbox-keys (reused after), printed with the flags to use against it')
            .example('$0 sandbox --fault unavailable=0.1 --fault drop=0.05', 'a flaky gateway'),
        (a) => {
          // The sandbox reads no environment and no config file: an app id or faults exported for real runs must
          // not quietly shape the gateway a trial runs against. Flags only.
          const { values: v } = settle(SANDBOX_USES, a, false);
          return set(import('./sandbox/command.js').then(({ runSandboxCommand }) => runSandboxCommand({
            port: v.port as number, appId: v['app-id'] as string | undefined, appPublicKey: v['app-public-key'] as string | undefined,
            alipayPrivateKey: v['alipay-private-key'] as string | undefined, keysDir: String(v['keys-dir']), fault: v.fault as string[] | undefined,
            slowMs: v['slow-ms'] as number, faultSeed: v['fault-seed'] as number, faultMaxPerRequest: v['fault-max-per-request'] as number | undefined,
            agreements: v.agreements as string | undefined, quota: v.quota as number | undefined, behave: v.behave as string[] | undefined,
          }, streamLogger(process.stderr, false))));
        },
      )
      .command(
        'demo',
        'start a local sandbox gateway and sync the sample CSVs in examples/ into a demo ledger (what `npm start` runs)',
        (y) => addOptions(y, DEMO_USES),
        (a) => {
          const { values: v } = settle(DEMO_USES, a, false);
          return set(import('./demo.js').then(({ runDemo }) => runDemo({
            ledgerPath: String(v.ledger), examplesDir: v.examples as string | undefined, json: v.json === true,
            out: { write: (t: string) => (writeOut(t), true) } as unknown as NodeJS.WritableStream, logger: streamLogger(process.stderr, false),
          })));
        },
      )
      .demandCommand(1, 'name a command: upload, agreements, notify, status, sandbox or demo (see --help)')
      .strict()
      .recommendCommands()
      .epilog(
        'Settings: a flag, else its ALIPAY_SYNC_<NAME> environment variable, else the --config file, else the default; each applies only to the commands that have it. A flag given twice takes its last value (--fault keeps every one). Booleans take true/false, 1/0, yes/no, on/off.\n\n' +
          'Exit codes: 0 every row uploaded or rightly skipped · 1 finished, but rows were rejected or failed (or a file was empty) · 2 usage, configuration or I/O problem, nothing sent · 3 aborted by the gateway (credentials, signature, an unverifiable answer), pending rows left for the next run · 4 reserved: the gateway\'s quota is spent (not used yet) · 70 internal error (a bug: please report it) · 130 interrupted after settling requests in flight.\n\n' +
          'Docs: README.md. Try it with no account: npm start, or alipay-sync sandbox.',
      )
      .wrap(Math.min(110, process.stdout.columns || 110))
      .fail((msg, err) => {
        throw err ?? new SyncError('SYNC_CONFIG_INVALID', `${scrub(msg)}\nrun alipay-sync --help for usage`);
      })
      .help()
      .alias('h', 'help')
      .version();
    await parser.parseAsync();
    return exit;
  } catch (err) {
    return report(err, state);
  }
}

/** The one way out for an error: a line on stderr, and with --json a JSON object as the last line of stdout. */
function report(err: unknown, state: CommandState): number {
  const code = exitCodeFor(err);
  const e = err as Error & { code?: string };
  const message = scrub(e?.message ?? String(err));
  if (code === EXIT.INTERNAL) {
    process.stderr.write(`error: internal error: ${message}\nThis is a bug in alipay-sync: please report it${state.verbose ? '' : ' (run again with --verbose to see where it happened)'}.\n`);
    if (state.verbose && e?.stack) process.stderr.write(`${e.stack}\n`);
  } else {
    process.stderr.write(`error: ${message}${e.code ? ` [${e.code}]` : ''}\n`);
  }
  if (state.json && !state.printedJson) {
    writeOut(JSON.stringify({ status: 'error', exit_code: code, error: { code: code === EXIT.INTERNAL ? 'SYNC_INTERNAL' : e.code, message } }) + '\n');
  }
  return code;
}

for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (stream === process.stdout) stdoutClosed = true;
    // A reader that went away (`alipay-sync status | head -1`) is not a crash: stop writing, finish quietly.
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    // Anything else (a full disk under `>> run.log`) lost the summary a cron job relies on: not a success.
    if (stream === process.stdout) {
      process.stderr.write(`error: cannot write to standard output: ${err.code ?? err.message} [SYNC_OUTPUT]\n`);
      if (!process.exitCode || process.exitCode === EXIT.ROWS) process.exitCode = EXIT.USAGE;
    }
  });
}

main().then(
  (code) => {
    // an output error already raised to 2 stays so
    if (process.exitCode !== EXIT.USAGE || code > EXIT.USAGE) process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err, { json: false, verbose: false, printedJson: false });
  },
);
