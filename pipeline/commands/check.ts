import { EXIT, SyncError } from '../errors.js';
import { writeOut, use, type CommandSpec } from './context.js';
import { examples } from './help.js';
import { CONFIG, CONFIG_IS } from './upload.js';
import type { CheckResult } from '../check/offline.js';
import { wrap } from '../status-text.js';
import { rawSettings, SENDING } from './run-dataset.js';

/**
 * `alipay-sync check`: are the settings right, before a night's run? Offline (pipeline/check/offline.ts): the
 * gateway URL, the app id's form, the keys parse, the Alipay public key is not your own, the clock is sane. With
 * --online, one harmless signed call (pipeline/check/online.ts). Exit 0 (warnings allowed), 2 when an offline
 * check fails (what upload would stop on), 3 when the gateway call fails.
 */
export const checkCommand: CommandSpec = {
  command: 'check',
  describe: 'check the settings before a run: keys parse and are not a pair, app id, gateway, clock; --online makes one harmless signed call',
  uses: [
    // the settings a call needs, not the ones that tune a run
    ...SENDING.filter((u) => !['qps', 'concurrency', 'max-attempts', 'backoff-ms'].includes(u.name)),
    use('online'), use('dataset', { describe: '--online: prove permission for this dataset\'s method (borrow-entities, worker-contracts: an empty upload, refused before anything is stored); default: an agreement query' }),
    use('ledger', { describe: 'the ledger the runs use: its latest run bounds the clock check' }), use('json'), use('verbose'), use('config'),
  ],
  fromEnv: true,
  build: (y) =>
    y.epilog(examples([
      ['$0 check --app-id 2021… --private-key app_private_key.txt --alipay-public-key alipay_public_key.txt', 'offline: nothing is sent'],
      [`$0 check --online --dataset borrow-entities ${CONFIG}`, `and one signed call proving app id, keys and the permission to upload borrow points (${CONFIG_IS})`],
    ])),
  async run({ values: v, origins, state }) {
    const { installedAt, runOfflineChecks } = await import('../check/offline.js');
    const raw = rawSettings(v);
    const dataset = typeof v.dataset === 'string' ? v.dataset : undefined;
    if (dataset !== undefined && !['borrow-entities', 'worker-contracts', 'agreement-effects', 'agreement-queries'].includes(dataset)) {
      throw new SyncError('SYNC_CONFIG_INVALID', `--dataset ${dataset}: one of borrow-entities, worker-contracts, agreement-effects, agreement-queries`);
    }
    const { results } = runOfflineChecks({ raw, origins, now: Date.now(), ledgerPath: String(v.ledger), installedAt: installedAt() });
    const offlineFailed = results.some((r) => r.status === 'fail');
    let onlineFailed = false;
    if (v.online === true) {
      if (offlineFailed) {
        results.push({ check: 'gateway-call', status: 'fail', message: 'not made: fix what failed above first (nothing was sent)' });
      } else {
        const [{ resolveSendSettings }, { AlipayClient }, { onlineChecks }] = await Promise.all([
          import('../config.js'), import('../alipay/client.js'), import('../check/online.js'),
        ]);
        const settings = resolveSendSettings(raw, origins);
        const client = new AlipayClient({ ...settings, connections: 1 });
        try {
          const verifiedWith = settings.certificates ? 'the Alipay certificate (--alipay-cert, chained to --alipay-root-cert)' : '--alipay-public-key';
          const online = await onlineChecks(client, settings.appId, dataset, Date.now, verifiedWith);
          onlineFailed = online.some((r) => r.status === 'fail');
          results.push(...online);
        } finally {
          await client.close();
        }
      }
    }
    const exitCode = offlineFailed ? EXIT.USAGE : onlineFailed ? EXIT.GATEWAY : EXIT.OK;
    const stream = state.json ? process.stderr : process.stdout;
    const text = checkText(results, stream.isTTY ? Math.max(40, (stream.columns || 80) - 1) : null);
    if (state.json) {
      process.stderr.write(text + '\n');
      const { VERSION } = await import('../version.js');
      writeOut(JSON.stringify({ status: exitCode === 0 ? 'ok' : 'failed', checks: results, online: v.online === true, exit_code: exitCode, version: VERSION }) + '\n');
      state.printedJson = true;
    } else {
      writeOut(text + '\n' + (v.online === true ? '' : 'offline checks only: --online proves the app id, keys and permission with one harmless call\n'));
    }
    return exitCode;
  },
};

/**
 * The checks as lines: status, check, message; on a terminal (`width`) a long message is wrapped at words under
 * its column (Alipay's answers and our advice run to hundreds of characters), in a pipe one line each.
 */
export function checkText(results: readonly CheckResult[], width: number | null): string {
  const name = Math.max(...results.map((r) => r.check.length));
  const indent = ' '.repeat(4 + 2 + name + 2);
  return results.map((r) => {
    const head = `${r.status.padEnd(4)}  ${r.check.padEnd(name)}  `;
    if (width === null) return head + r.message;
    // the message in the width left of its column (at least 30: a very long check name lets it run on)
    return wrap(r.message, Math.max(30, width - indent.length)).map((l, i) => (i === 0 ? head : indent) + l).join('\n');
  }).join('\n');
}
