import { SyncError } from '../errors.js';
import { streamLogger } from '../log.js';
import { checkLedgerPath } from '../paths.js';
import { checkMetricsPort } from '../serve.js';
import { stdoutSink, use, type CommandSpec } from './context.js';
import { examples } from './help.js';

/** The commands that are not a run: notify serve, status, sandbox, demo. */

const notifyServe: CommandSpec = {
  command: 'serve',
  describe: 'receive Alipay\'s agreement notifications (dut_user_sign, dut_user_unsign): verify each, update the agreement in the ledger, answer `success`',
  uses: [
    use('port', { default: 8788 }), use('host'), use('ledger', { describe: 'the ledger whose agreements it updates (must exist): a SQLite file, or postgres://… (several receivers may share it)' }), use('schema'),
    use('alipay-public-key', { describe: 'Alipay public key file that notifications are verified with' }),
    use('app-id', { describe: 'refuse notifications for any other app' }), use('metrics-port', { describe: 'serve Prometheus metrics (notifications by result) on http://127.0.0.1:PORT/metrics' }),
    use('verbose'), use('config'),
  ],
  fromEnv: true,
  build: (y) => y.epilog(examples([
    ['$0 notify serve --port 8788 --ledger points.db --alipay-public-key alipay_public_key.txt --app-id 2021…', 'then pass --notify-url https://your.host/alipay/notify to agreements effect'],
  ])),
  async run({ values: v }) {
    // A receiver on a mistyped ledger would answer Alipay `success` for notices the real ledger never sees.
    checkLedgerPath(String(v.ledger), { dryRun: false, schema: String(v.schema), mustExist: 'notify serve updates the agreements of an existing ledger: check --ledger, or run agreements effect first' });
    const { runNotifyCommand } = await import('../notify/command.js');
    return runNotifyCommand({
      port: v.port as number, host: String(v.host), ledger: String(v.ledger), schema: String(v.schema),
      alipayPublicKey: v['alipay-public-key'] as string | undefined, appId: v['app-id'] as string | undefined,
      metricsPort: checkMetricsPort(v['metrics-port']),
    }, streamLogger(process.stderr, v.verbose === true));
  },
};

export const notifyCommand: CommandSpec = {
  command: 'notify',
  describe: 'Alipay\'s agreement notifications: `notify serve` receives and verifies them',
  uses: [],
  fromEnv: true,
  subcommands: [notifyServe],
};

export const statusCommand: CommandSpec = {
  command: 'status',
  describe: 'recent runs (times, durations, files, counts), what the ledger holds, failed rows by sub_code, agreements, notifications',
  uses: [use('ledger', { describe: 'the ledger to read (a SQLite file, or postgres://…)' }), use('schema'), use('runs'), use('json', { describe: 'print it as JSON' }), use('verbose'), use('config')],
  fromEnv: true,
  build: (y) =>
    y.epilog(examples([
      ['$0 status --ledger /var/lib/alipay-sync/points.db', 'what happened last night (a table on a terminal, TSV in a pipe)'],
      ['$0 status --json | jq .runs[0]', 'the last run, for a program (fields: README, "status --json")'],
    ])),
  async run({ values: v, state }) {
    if (!Number.isInteger(v.runs) || (v.runs as number) < 1) throw new SyncError('SYNC_CONFIG_INVALID', `--runs must be a whole number of 1 or more (got ${String(v.runs)})`);
    checkLedgerPath(String(v.ledger), { dryRun: false, readOnly: true, schema: String(v.schema) });
    const { printStatus } = await import('../status.js');
    // A table fitted to the terminal; TSV when stdout is a pipe or a file; JSON with --json.
    const out = { write: stdoutSink.write, isTTY: process.stdout.isTTY === true, columns: process.stdout.columns };
    const code = await printStatus({ ledgerPath: String(v.ledger), schema: String(v.schema), runs: v.runs as number, json: v.json === true, out });
    state.printedJson = state.json;
    return code;
  },
};

export const sandboxCommand: CommandSpec = {
  command: 'sandbox',
  describe: 'run a local gateway that behaves like Alipay (signatures, answers, faults), for trials and tests',
  uses: [
    use('port', { default: 8787, describe: 'loopback port (0: any free one)' }),
    use('app-id', { describe: 'the app id it accepts [default: 2021000000000001]' }),
    use('app-public-key'), use('alipay-private-key'), use('keys-dir'), use('fault'), use('slow-ms'), use('fault-seed'), use('fault-max-per-request'),
    use('agreements'), use('quota'), use('daily-quota'), use('merchant-quota'), use('merchant-daily-quota'), use('merchant-token'), use('expired-token'),
    use('behave'), use('cert-mode'), use('rotate-after'), use('content-encryption'), use('verbose'),
  ],
  // Flags only: an app id or faults exported for real runs must not quietly shape the gateway a trial runs against.
  fromEnv: false,
  build: (y) =>
    y.epilog(examples([
      ['$0 sandbox --port 8787', 'keys made once in ./sandbox-keys (reused after), printed with the flags to use against it'],
      ['$0 sandbox --fault unavailable=0.1 --fault drop=0.05', 'a flaky gateway'],
      ['$0 sandbox --cert-mode --rotate-after 100', 'an app in certificate mode (公钥证书); Alipay\'s certificate rotates after 100 requests'],
      ['$0 sandbox --content-encryption --behave requireEncryption', 'an app with content encryption (接口内容加密) on'],
      ['$0 sandbox --merchant-token tokA --merchant-token tokB --expired-token tokC --merchant-quota 20 --daily-quota 10000', 'an ISV\'s merchants and quotas'],
  ])),
  async run({ values: v }) {
    const { runSandboxCommand } = await import('../sandbox/command.js');
    return runSandboxCommand({
      port: v.port as number, appId: v['app-id'] as string | undefined, appPublicKey: v['app-public-key'] as string | undefined,
      alipayPrivateKey: v['alipay-private-key'] as string | undefined, keysDir: String(v['keys-dir']), fault: v.fault as string[] | undefined,
      slowMs: v['slow-ms'] as number, faultSeed: v['fault-seed'] as number, faultMaxPerRequest: v['fault-max-per-request'] as number | undefined,
      agreements: v.agreements as string | undefined, quota: v.quota as number | undefined, behave: v.behave as string[] | undefined,
      certMode: v['cert-mode'] === true, rotateAfter: v['rotate-after'] as number | undefined, contentEncryption: v['content-encryption'] === true,
      dailyQuota: v['daily-quota'] as number | undefined, merchantQuota: v['merchant-quota'] as number | undefined,
      merchantDailyQuota: v['merchant-daily-quota'] as number | undefined, tokens: v['merchant-token'] as string[] | undefined,
      expiredTokens: v['expired-token'] as string[] | undefined,
    }, streamLogger(process.stderr, false));
  },
};

export const demoCommand: CommandSpec = {
  command: 'demo',
  describe: 'start a local sandbox gateway and sync the sample CSVs in examples/ into a demo ledger (what `npm start` runs)',
  uses: [
    use('ledger', { default: './.demo/alipay-sync.db', describe: 'the demo ledger (kept between runs: a second run skips everything)' }),
    use('examples'), use('json', { describe: 'print JSON summaries' }), use('verbose'),
  ],
  // Flags only: exported production settings must never steer `npm start`.
  fromEnv: false,
  async run({ values: v }) {
    const { runDemo } = await import('../demo.js');
    return runDemo({ ledgerPath: String(v.ledger), examplesDir: v.examples as string | undefined, json: v.json === true, out: stdoutSink, logger: streamLogger(process.stderr, false) });
  },
};
