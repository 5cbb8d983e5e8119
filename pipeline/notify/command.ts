import { loadPublicKey } from '../alipay/keys.js';
import { SyncError } from '../errors.js';
import type { Logger } from '../log.js';
import { NotifyServer } from './server.js';

export interface NotifyArgs {
  port: number;
  host: string;
  ledger: string;
  alipayPublicKey?: string;
  appId?: string;
}

/** `alipay-sync notify serve`: serve until Ctrl-C / SIGTERM. */
export async function runNotifyCommand(a: NotifyArgs, logger: Logger): Promise<number> {
  if (!a.alipayPublicKey) {
    throw new SyncError('SYNC_CONFIG_INVALID', '--alipay-public-key is required: notifications are verified with it (or ALIPAY_SYNC_ALIPAY_PUBLIC_KEY)');
  }
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new SyncError('SYNC_CONFIG_INVALID', `--port must be 0-65535 (got ${a.port})`);
  const server = new NotifyServer({
    ledgerPath: a.ledger, alipayPublicKey: loadPublicKey(a.alipayPublicKey), appId: a.appId, host: a.host, port: a.port, logger,
  });
  const url = await server.start();
  process.stdout.write(`notify receiver listening on ${url} (ledger ${a.ledger}); Ctrl-C to stop\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  await server.stop();
  logger.info(`notify receiver stopped after ${server.received} notification(s)`);
  return 0;
}
