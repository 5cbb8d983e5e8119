#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { agreementDatasets, datasets } from '../sources/index.js';
import type { Dataset } from '../sources/dataset.js';
import { parseEncoding } from '../sources/csv.js';
import { resolveSendSettings, resolveTuning, GATEWAYS, type RawSettings } from './config.js';
import { exitCodeFor, SyncError } from './errors.js';
import { streamLogger, type Logger } from './log.js';
import type { ResultSink } from './agreements.js';
import { humanSummary } from './summary.js';
// Each command imports what it needs when it runs (the HTTP client, the ledger, the sandbox): `--help` and
// `status` start in a fraction of the time, and a migration's CPU is spent on the migration.

/**
 * The command line: a thin yargs layer over the library. Settings come from flags, then ALIPAY_SYNC_* environment
 * variables, then a --config JSON file; this is the only module that reads process.env or calls process.exit.
 */

/** The shared flags: the settings of a run (RawSettings, checked by config.ts) and how it reads and reports. */
interface Shared extends RawSettings {
  ledger: string;
  qps?: number;
  concurrency?: number;
  maxAttempts?: number;
  requestTimeout?: number;
  backoffMs?: number;
  encoding: string;
  rejects?: string;
  dryRun: boolean;
  json: boolean;
  verbose: boolean;
  progress: boolean;
}

const SENDING = 'Sending (each also as ALIPAY_SYNC_<NAME>, e.g. ALIPAY_SYNC_APP_ID):';
const RUN = 'Run:';

function sharedOptions(y: Argv): Argv<Shared> {
  return y
    .option('gateway', { type: 'string', group: SENDING, describe: `gateway URL, or "production" / "sandbox" (Alipay's own) [default: production = ${GATEWAYS.production}]` })
    .option('app-id', { type: 'string', group: SENDING, describe: 'your Alipay app id' })
    .option('private-key', { type: 'string', group: SENDING, describe: 'app private key: a file (PEM, or the one-line body from Alipay\'s key tool) or the key itself' })
    .option('alipay-public-key', { type: 'string', group: SENDING, describe: 'Alipay public key (file or key), to verify every answer' })
    .option('sign-type', { type: 'string', group: SENDING, describe: 'RSA2 (SHA256withRSA) or legacy RSA [default: RSA2]' })
    .option('app-auth-token', { type: 'string', group: SENDING, describe: 'app_auth_token, when calling on behalf of a merchant (ISV mode)' })
    .option('qps', { type: 'number', group: SENDING, describe: 'request rate ceiling per second, 0 for none; lowered by itself on 40005 [default: 50]' })
    .option('concurrency', { type: 'number', group: SENDING, describe: 'requests in flight at most [default: 8]' })
    .option('max-attempts', { type: 'number', group: SENDING, describe: 'attempts per row for transient failures (20000, 40005, timeouts, 5xx) [default: 5]' })
    .option('request-timeout', { type: 'number', group: SENDING, describe: 'seconds to wait for one answer [default: 15]' })
    .option('backoff-ms', { type: 'number', group: SENDING, describe: 'base of the exponential retry backoff (full jitter), in ms [default: 500]' })
    .option('ledger', { type: 'string', group: RUN, default: './alipay-sync.db', describe: 'SQLite ledger file: what was sent, what Alipay answered, what it holds' })
    .option('encoding', { type: 'string', group: RUN, default: 'utf8', describe: 'CSV encoding: utf8 (BOM or not), gbk, gb18030' })
    .option('rejects', { type: 'string', group: RUN, describe: 'write rejected rows here as CSV (line,field,reason,file, then the row)' })
    .option('dry-run', { type: 'boolean', group: RUN, default: false, describe: 'validate and plan (new, changed, stale, unchanged, rejected); send nothing, change nothing' })
    .option('json', { type: 'boolean', group: RUN, default: false, describe: 'print a JSON summary as the last line of stdout' })
    .option('verbose', { type: 'boolean', group: RUN, default: false, describe: 'log every request\'s outcome (personal data stays masked)' })
    .option('progress', { type: 'boolean', group: RUN, default: true, describe: 'progress on stderr (a live line on a terminal, a line every 10 s otherwise); --no-progress to hide' })
    .option('config', { type: 'string', group: RUN, describe: 'JSON file of settings (same names as the flags); flags and env win over it' }) as unknown as Argv<Shared>;
}

/** Ctrl-C / SIGTERM: the first asks the run to settle and stop; the second quits at once (unsent rows stay pending). */
function interruptSignal(logger: Logger): AbortSignal {
  const ac = new AbortController();
  const onSignal = () => {
    if (ac.signal.aborted) {
      logger.warn('second interrupt: quitting now; rows in flight stay pending and are sent by the next run');
      process.exit(130);
    }
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac.signal;
}

interface UploadExtras {
  notifyUrl?: string;
  /** made only for a real run: a dry run stores and exports nothing */
  sink?: () => ResultSink;
}

async function upload(dataset: Dataset, a: Shared & { file: string[] }, argv: string[], extras: UploadExtras = {}): Promise<number> {
  const logger = streamLogger(process.stderr, a.verbose);
  const encoding = parseEncoding(a.encoding);
  if (!encoding) throw new SyncError('SYNC_CONFIG_INVALID', `--encoding must be utf8, gbk or gb18030 (got ${a.encoding})`);
  if (extras.notifyUrl !== undefined) checkNotifyUrl(extras.notifyUrl);
  const tuning = resolveTuning(a);
  // A dry run sends nothing and needs no keys; a real run checks every setting before it touches anything.
  const settings = a.dryRun ? null : resolveSendSettings(a);
  const { AlipayClient } = await import('./alipay/client.js');
  const { runUpload } = await import('./upload.js');
  const client = settings
    ? new AlipayClient({ ...settings, requestTimeoutMs: settings.requestTimeoutMs, connections: settings.concurrency })
    : null;
  try {
    const { summary, exitCode } = await runUpload({
      dataset, files: a.file, ledgerPath: a.ledger, client, encoding, dryRun: a.dryRun, rejectsPath: a.rejects,
      ...tuning, logger, progressStream: a.progress ? process.stderr : undefined, signal: interruptSignal(logger),
      command: commandLine(argv), notifyUrl: extras.notifyUrl, sink: a.dryRun ? undefined : extras.sink?.(),
    });
    const text = humanSummary(summary, a.rejects);
    if (a.json) {
      process.stderr.write(text + '\n');
      process.stdout.write(JSON.stringify(summary) + '\n');
    } else {
      process.stdout.write(text + '\n');
    }
    return exitCode;
  } finally {
    await client?.close();
  }
}

function checkNotifyUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SyncError('SYNC_CONFIG_INVALID', `--notify-url must be an http(s) URL (got ${url})`);
  }
  if (!/^https?:$/.test(u.protocol) || url.length > 256) {
    throw new SyncError('SYNC_CONFIG_INVALID', `--notify-url must be an http(s) URL of at most 256 characters (got ${url.slice(0, 80)})`);
  }
}

/** The command line as recorded in the ledger: flag values that could be secrets are left out. */
function commandLine(argv: string[]): string {
  const secret = /^--(private-key|alipay-public-key|app-auth-token)(=|$)/;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = secret.exec(arg);
    if (m) {
      out.push(`--${m[1]}=…`);
      if (!m[2]) i++;
    } else out.push(arg);
  }
  return out.join(' ');
}

export async function main(argv = hideBin(process.argv)): Promise<number> {
  let exit = 0;
  const set = (p: Promise<number>) => p.then((code) => void (exit = code));
  const parser = yargs(argv)
    .scriptName('alipay-sync')
    .usage('$0 <command> [options]\n\nKeep Alipay in step with your CSV exports: validate every row, sign and send under a rate limit, and keep a SQLite ledger so any run can be stopped and rerun to finish, without re-sending rows.')
    // A flag given twice takes its last value, as in most tools (not an array of both).
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .env('ALIPAY_SYNC')
    .config('config')
    .command(
      'upload <dataset> <file..>',
      `upload CSV exports (datasets: ${Object.keys(datasets).join(', ')})`,
      (y) =>
        sharedOptions(y)
          .positional('dataset', { choices: Object.keys(datasets), describe: 'what the files hold' })
          .positional('file', { type: 'string', array: true, describe: 'CSV files, with a header row of the API field names' })
          .example('$0 upload borrow-entities points.csv --app-id 2021… --private-key app_private_key.txt --alipay-public-key alipay_public_key.txt', 'sync borrow points to production Alipay')
          .example('$0 upload borrow-entities export-*.csv --encoding gbk --rejects rejects.csv --qps 20', 'GBK exports, bad rows to rejects.csv, at most 20 requests/s')
          .example('$0 upload borrow-entities points.csv --dry-run', 'validate and show what would be sent; send nothing'),
      (a) => set(upload(datasets[a.dataset as string]!, a as unknown as Shared & { file: string[] }, argv)),
    )
    .command(
      'agreements <action> <file..>',
      'user agreements (代扣协议): `effect` makes TEMP agreements effective; `query` exports users\' agreements (needs --out)',
      (y) =>
        sharedOptions(y)
          .positional('action', { choices: ['effect', 'query'], describe: 'effect: alipay.user.agreement.sign.effect · query: alipay.user.agreement.batch.query' })
          .positional('file', { type: 'string', array: true, describe: 'CSV files, with a header row of the API field names' })
          .option('notify-url', { type: 'string', describe: 'effect: where Alipay sends dut_user_sign notifications (see notify serve)' })
          .option('out', { type: 'string', describe: 'query: write every agreement found here, CSV, or JSON Lines when the name ends in .jsonl' })
          .example('$0 agreements effect temp-agreements.csv --rejects rejects.csv', 'make every TEMP agreement in the file effective; rows already NORMAL are skipped')
          .example('$0 agreements query users.csv --out agreements.csv', 'export every agreement of every user in users.csv')
          .example('$0 agreements query users.csv --out agreements.jsonl --qps 10', 'the same as JSON Lines, gently'),
      (a) => {
        const args = a as unknown as Shared & { action: 'effect' | 'query'; file: string[]; notifyUrl?: string; out?: string };
        if (args.action === 'query') {
          if (!args.out && !args.dryRun) throw new SyncError('SYNC_CONFIG_INVALID', 'agreements query needs --out <file> (.csv, or .jsonl for JSON Lines)');
          if (args.notifyUrl) throw new SyncError('SYNC_CONFIG_INVALID', '--notify-url goes with agreements effect, not query');
          return set(import('./agreements.js').then(({ querySink }) => upload(agreementDatasets.query, args, argv, { sink: () => querySink(args.out!) })));
        }
        if (args.out) throw new SyncError('SYNC_CONFIG_INVALID', '--out goes with agreements query, not effect');
        return set(import('./agreements.js').then(({ effectSink }) => upload(agreementDatasets.effect, args, argv, { notifyUrl: args.notifyUrl, sink: effectSink })));
      },
    )
    .command(
      'notify serve',
      'receive Alipay\'s dut_user_sign notifications: verify each, update the agreement in the ledger, answer `success`',
      (y) =>
        y
          .option('port', { type: 'number', default: 8788, describe: 'port to listen on' })
          .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (put it behind your HTTPS reverse proxy; 0.0.0.0 for all)' })
          .option('ledger', { type: 'string', default: './alipay-sync.db', describe: 'the ledger whose agreements it updates' })
          .option('alipay-public-key', { type: 'string', describe: 'Alipay public key (file or key) that notifications are verified with' })
          .option('app-id', { type: 'string', describe: 'refuse notifications for any other app' })
          .option('verbose', { type: 'boolean', default: false })
          .example('$0 notify serve --port 8788 --alipay-public-key alipay_public_key.txt --app-id 2021…', 'then pass --notify-url https://your.host/alipay/notify to agreements effect'),
      (a) => set(import('./notify/command.js').then(({ runNotifyCommand }) => runNotifyCommand(a as never, streamLogger(process.stderr, Boolean(a.verbose))))),
    )
    .command(
      'status',
      'recent runs with their counts, and failed rows grouped by sub_code',
      (y) =>
        y
          .option('ledger', { type: 'string', default: './alipay-sync.db', describe: 'the ledger to read' })
          .option('runs', { type: 'number', default: 10, describe: 'how many recent runs to show' })
          .option('json', { type: 'boolean', default: false, describe: 'print it as JSON' })
          .example('$0 status --ledger /var/lib/alipay-sync/points.db', 'what happened last night'),
      (a) => set(import('./status.js').then(({ printStatus }) => printStatus({ ledgerPath: a.ledger, runs: a.runs, json: a.json, out: process.stdout }))),
    )
    .command(
      'sandbox',
      'run a local gateway that behaves like Alipay (signatures, answers, faults), for trials and tests',
      (y) =>
        y
          .option('port', { type: 'number', default: 8787, describe: 'loopback port (0: any free one)' })
          .option('app-id', { type: 'string', describe: 'the app id it accepts [default: 2021000000000001]' })
          .option('app-public-key', { type: 'string', describe: 'the app public key that request signatures are checked with' })
          .option('alipay-private-key', { type: 'string', describe: '"Alipay\'s" private key that answers are signed with' })
          .option('keys-dir', { type: 'string', default: './sandbox-keys', describe: 'where fresh keys are written when none are given' })
          .option('fault', { type: 'string', array: true, describe: 'inject faults: KIND=SHARE, KIND one of unavailable, limited, system_error, http502, drop, slow, tamper, wrong_key, unsigned, duplicate_key' })
          .option('slow-ms', { type: 'number', default: 3000, describe: 'delay of a "slow" answer' })
          .option('fault-seed', { type: 'number', default: 1, describe: 'seed of the fault dice' })
          .option('fault-max-per-request', { type: 'number', describe: 'at most this many faults for one identical request' })
          .option('agreements', { type: 'string', describe: 'JSON file of user agreements it holds: [{"agreement_no","alipay_user_id","personal_product_code","sign_scene","status":"TEMP|NORMAL|STOP"},…]' })
          .option('quota', { type: 'number', describe: 'requests per second it accepts before answering 40005' })
          .example('$0 sandbox --port 8787', 'fresh keys, printed with the flags to use against it')
          .example('$0 sandbox --fault unavailable=0.1 --fault drop=0.05', 'a flaky gateway'),
      (a) => set(import('./sandbox/command.js').then(({ runSandboxCommand }) => runSandboxCommand(a, streamLogger(process.stderr, false)))),
    )
    .command(
      'demo',
      'start a local sandbox gateway and sync the sample CSVs in examples/ into a demo ledger (what `npm start` runs)',
      (y) =>
        y
          .option('ledger', { type: 'string', default: './.demo/alipay-sync.db', describe: 'the demo ledger (kept between runs: a second run skips everything)' })
          .option('examples', { type: 'string', describe: 'folder of sample CSVs [default: the package\'s examples/]' })
          .option('json', { type: 'boolean', default: false, describe: 'print JSON summaries' }),
      (a) => set(import('./demo.js').then(({ runDemo }) => runDemo({ ledgerPath: a.ledger, examplesDir: a.examples, json: a.json, out: process.stdout, logger: streamLogger(process.stderr, false) }))),
    )
    .demandCommand(1, 'name a command: upload, agreements, notify, status, sandbox or demo (see --help)')
    .strict()
    .recommendCommands()
    .epilog(
      'Exit codes: 0 every row uploaded or rightly skipped · 1 finished, but rows were rejected or failed · 2 bad usage or configuration, nothing sent · 3 aborted (credentials, signature or an unverifiable answer), pending rows left for the next run · 130 interrupted after settling requests in flight.\n\nDocs: README.md. Try it with no account: npm start, or alipay-sync sandbox.',
    )
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      throw err ?? new SyncError('SYNC_CONFIG_INVALID', `${msg}\nrun alipay-sync --help for usage`);
    })
    .help()
    .alias('h', 'help')
    .version();
  try {
    await parser.parseAsync();
    return exit;
  } catch (err) {
    const code = exitCodeFor(err);
    const e = err as Error & { code?: string; file?: string; line?: number };
    process.stderr.write(`error: ${e.message}${e.code && code !== 1 ? ` [${e.code}]` : ''}\n`);
    if (code === 1 && !(err instanceof SyncError)) process.stderr.write(`${e.stack ?? ''}\n`);
    return code;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
