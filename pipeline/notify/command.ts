import { loadPublicKey } from '../alipay/keys.js';
import { SyncError } from '../errors.js';
import type { Logger } from '../log.js';
import { NotifyServer } from './server.js';
import { listenError, untilStopped } from '../serve.js';

export interface NotifyArgs {
  port: number;
  host: string;
  ledger: string;
  alipayPublicKey?: string;
  appId?: string;
  /** serve Prometheus metrics on this loopback port */
  metricsPort?: number | undefined;
}

/** `alipay-sync notify serve`: serve until Ctrl-C / SIGTERM. */
export async function runNotifyCommand(a: NotifyArgs, logger: Logger): Promise<number> {
  if (!a.alipayPublicKey) {
    throw new SyncError('SYNC_CONFIG_INVALID', '--alipay-public-key is required: notifications are verified with it (or ALIPAY_SYNC_ALIPAY_PUBLIC_KEY)');
  }
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new SyncError('SYNC_CONFIG_INVALID', `--port must be 0-65535 (got ${a.port})`);
  const metrics = a.metricsPort === undefined ? null : await import('../metrics.js');
  const served = metrics ? await metrics.serveMetrics(a.metricsPort!, 'notify serve') : null;
  const server = new NotifyServer({
    ledgerPath: a.ledger, alipayPublicKey: loadPublicKey(a.alipayPublicKey), appId: a.appId, host: a.host, port: a.port, logger,
    ...(metrics && served ? { onResult: metrics.notifyMetrics(served.registry) } : {}),
  });
  let url: string;
  try {
    url = await server.start();
  } catch (err) {
    await served?.close();
    throw listenError(err, 'notify serve', a.host, a.port);
  }
  if (served) logger.info(`metrics: ${served.url}`);
  // Listen for the stop signals before saying we listen: a supervisor that stops us as soon as it reads the
  // line must not find the default action (death) still in place.
  const stopped = untilStopped();
  process.stdout.write(`notify receiver listening on ${url} (ledger ${a.ledger}); Ctrl-C to stop\n`);
  await stopped;
  await server.stop();
  await served?.close();
  logger.info(`notify receiver stopped after ${server.received} notification(s)`);
  return 0;
}
