import { existsSync } from 'node:fs';
import type { Dataset } from '../../sources/dataset.js';
import { parseEncoding } from '../../sources/csv.js';
import type { ResultSink } from '../agreements.js';
import { installedAt, runOfflineChecks } from '../check/offline.js';
import { GATEWAYS, resolveSendSettings, type RawSettings } from '../config.js';
import { SyncError } from '../errors.js';
import { streamLogger } from '../log.js';
import { checkLedgerPath, checkOutputPath, resolveInputs } from '../paths.js';
import { checkMetricsPort } from '../serve.js';
import type { OptionUse, Values } from '../settings.js';
import { humanSummary } from '../summary.js';
import { VERSION } from '../version.js';
import { interruptSignal, use, writeOut, type CommandContext } from './context.js';

/** One run of a dataset (runUpload), as `upload`, `agreements` and `retry` start it: every input checked first. */

export const SENDING: OptionUse[] = [
  use('gateway', { describe: `gateway URL, or "production" / "sandbox" (Alipay's own); production = ${GATEWAYS.production}` }),
  use('app-id'), use('private-key'), use('alipay-public-key'), use('app-cert'), use('alipay-cert'), use('alipay-root-cert'), use('encrypt-key'),
  use('sign-type'), use('app-auth-token'),
  use('qps'), use('wait-for-quota'), use('concurrency'), use('max-attempts'), use('request-timeout'), use('backoff-ms'),
];
/** what every run has (retry reads no file: no encoding, rejects, dry run or empty files) */
export const OUTPUT: OptionUse[] = [
  use('ledger'), use('schema'), use('lease'), use('rebind-ledger'), use('json'), use('verbose'), use('progress'), use('progress-interval'), use('quiet'), use('metrics-port'),
  use('config'),
];
export const READING: OptionUse[] = [
  use('encoding'), use('rejects'), use('bom'), use('allow-empty'), use('dry-run'), use('retry-failed'),
  use('sub-code', { describe: 'with --retry-failed: only the rows whose last answer had this sub_code (else code)' }),
];

export interface Extras {
  /** `work`: no file is read; only what is pending is sent */
  sendOnly?: boolean;
  notifyUrl?: string;
  /** made only for a real run: a dry run stores and exports nothing */
  sink?: () => ResultSink;
  out?: string;
  /** `retry`: revive failed rows from the ledger (no file is read) */
  revive?: { subCode?: string; key?: string };
}

export function rawSettings(v: Values): RawSettings {
  const s = (name: string) => (typeof v[name] === 'string' ? (v[name] as string) : undefined);
  const n = (name: string) => (typeof v[name] === 'number' ? (v[name] as number) : undefined);
  return {
    gateway: s('gateway'), appId: s('app-id'), privateKey: s('private-key'), alipayPublicKey: s('alipay-public-key'),
    appCert: s('app-cert'), alipayCert: s('alipay-cert'), alipayRootCert: s('alipay-root-cert'), encryptKey: s('encrypt-key'),
    signType: s('sign-type'), appAuthToken: s('app-auth-token'), qps: n('qps'), concurrency: n('concurrency'),
    maxAttempts: n('max-attempts'), requestTimeout: n('request-timeout'), backoffMs: n('backoff-ms'),
  };
}

export function checkNotifyUrl(url: string): void {
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

/** --schema and --lease, checked (they matter only to a PostgreSQL ledger, but a bad value is a bad value). */
function ledgerSettings(v: Values): { ledgerSchema: string; leaseMs: number } {
  const lease = v.lease as number;
  if (!(lease >= 1 && lease <= 86_400)) throw new SyncError('SYNC_CONFIG_INVALID', `--lease must be 1 to 86400 seconds (got ${String(lease)})`);
  return { ledgerSchema: String(v.schema), leaseMs: Math.round(lease * 1000) };
}

/** The send settings; a dry run that lacks one is told why it needs it (it checks what the real run would). */
function sendSettings(v: CommandContext['values'], origins: CommandContext['origins'], dryRun: boolean): ReturnType<typeof resolveSendSettings> {
  try {
    return resolveSendSettings(rawSettings(v), origins);
  } catch (err) {
    if (!dryRun || !(err instanceof SyncError) || !/ is required/.test(err.message)) throw err;
    throw new SyncError(err.code, `${err.message}; a dry run checks every setting the real run needs`);
  }
}

export async function runDataset(dataset: Dataset, ctx: CommandContext, rawFiles: string[], extras: Extras = {}): Promise<number> {
  const { values: v, origins, state } = ctx;
  const quiet = v.quiet === true;
  const logger = streamLogger(process.stderr, v.verbose === true, quiet);
  const dryRun = v['dry-run'] === true;
  const interval = v['progress-interval'] as number;
  if (!(interval > 0) || interval > 86_400) throw new SyncError('SYNC_CONFIG_INVALID', `--progress-interval must be a number of seconds above 0 (got ${String(v['progress-interval'])})`);
  const metricsPort = checkMetricsPort(v['metrics-port']);
  // Everything a user typed is checked before anything is read or sent: inputs, settings, keys, outputs.
  const files = extras.revive || extras.sendOnly ? [] : resolveInputs(rawFiles, logger.warn);
  const encoding = parseEncoding(String(v.encoding ?? 'utf8'));
  if (!encoding) throw new SyncError('SYNC_CONFIG_INVALID', `${origins.encoding === 'default' ? '--encoding' : origins.encoding} must be utf8, gbk or gb18030 (got ${String(v.encoding)})`);
  if (extras.notifyUrl !== undefined) checkNotifyUrl(extras.notifyUrl);
  const subCode = typeof v['sub-code'] === 'string' ? v['sub-code'] : undefined;
  if (subCode !== undefined && v['retry-failed'] !== true && !extras.revive) {
    throw new SyncError('SYNC_CONFIG_INVALID', '--sub-code goes with --retry-failed (which rows Alipay refused to send again)');
  }
  const settings = sendSettings(v, origins, dryRun);
  for (const w of settings.warnings) logger.warn(w);
  const ledgerPath = String(v.ledger);
  const ledger = ledgerSettings(v);
  checkLedgerPath(ledgerPath, {
    schema: ledger.ledgerSchema,
    ...(extras.revive ? { dryRun: false, mustExist: 'retry sends failed rows the ledger holds: check --ledger' } : { dryRun }),
  });

  // The offline checks of `alipay-sync check` (keys, the key pair, the clock…): a fail stops here, nothing sent.
  const { results } = runOfflineChecks({ raw: rawSettings(v), origins, now: Date.now(), ledgerPath, installedAt: installedAt() });
  for (const r of results) {
    if (r.status === 'fail') throw new SyncError(r.check.startsWith('key') ? 'SYNC_KEY_INVALID' : 'SYNC_CONFIG_INVALID', r.message);
    // (the certificates' warnings were printed with the settings above)
    if (r.status === 'warn' && r.check !== 'certificates') logger.warn(`${r.check}: ${r.message}`);
  }
  const rejects = typeof v.rejects === 'string' ? v.rejects : undefined;
  // Files this run reads besides the inputs: an output must never overwrite them (a key, the config file).
  const reads: { label: string; path: string }[] = [];
  const readFiles = ['private-key', 'alipay-public-key', 'app-cert', 'alipay-cert', 'alipay-root-cert', 'encrypt-key', 'config'] as const;
  for (const [name, label] of readFiles.map((n) => [n, `the --${n} file`] as const)) {
    const p = v[name];
    if (typeof p === 'string' && p.length < 1024 && !p.includes('-----BEGIN') && existsSync(p)) reads.push({ label, path: p });
  }
  if (rejects !== undefined) checkOutputPath('--rejects', rejects, { inputs: files, ledger: ledgerPath, reads });
  if (extras.out !== undefined) {
    checkOutputPath('--out', extras.out, { inputs: files, ledger: ledgerPath, reads: rejects ? [...reads, { label: '--rejects', path: rejects }] : reads });
  }
  const { AlipayClient } = await import('../alipay/client.js');
  const { runUpload } = await import('../upload.js');
  // Served from before staging to the end of the run (prom-client is loaded only when asked for).
  let metrics: { server: import('../metrics.js').MetricsServer; observer: import('../run/observe.js').RunObserver } | null = null;
  if (metricsPort !== undefined) {
    const { serveMetrics, runMetrics } = await import('../metrics.js');
    const server = await serveMetrics(metricsPort, `upload ${dataset.name}`);
    metrics = { server, observer: runMetrics(server.registry, dataset.name) };
    logger.info(`metrics: ${server.url}`);
  }
  const client = dryRun ? null : new AlipayClient({ ...settings, requestTimeoutMs: settings.requestTimeoutMs, connections: settings.concurrency });
  try {
    const { summary, exitCode } = await runUpload({
      dataset, files, ledgerPath, ...ledger, client, target: settings.target, hashKey: settings.hashKey, rebind: v['rebind-ledger'] === true,
      encoding, dryRun, rejectsPath: rejects, bom: v.bom !== false, allowEmpty: v['allow-empty'] === true, fresh: v.fresh === true,
      retryFailed: v['retry-failed'] === true ? (subCode !== undefined ? { subCode } : {}) : null, reviveFailed: extras.revive ?? null,
      qps: settings.qps, concurrency: settings.concurrency, maxAttempts: settings.maxAttempts, backoffMs: settings.backoffMs,
      ...(settings.appAuthToken ? { appAuthToken: settings.appAuthToken } : {}), waitForQuota: v['wait-for-quota'] === true,
      logger, progressStream: v.progress === false || quiet ? undefined : process.stderr, progressIntervalMs: process.stderr.isTTY ? undefined : interval * 1000,
      signal: interruptSignal(logger, () => state.json), observers: metrics ? [metrics.observer] : [],
      command: ctx.command, notifyUrl: extras.notifyUrl, sink: dryRun ? undefined : extras.sink?.(),
    });
    const to = state.json ? process.stderr : process.stdout;
    const text = humanSummary(summary, rejects, { retryFailed: v['retry-failed'] === true, ...(to.isTTY ? { width: (to.columns || 80) - 1 } : {}) });
    if (state.json) {
      process.stderr.write(text + '\n');
      writeOut(JSON.stringify({ ...summary, exit_code: exitCode, version: VERSION }) + '\n');
    } else {
      writeOut(text + '\n');
    }
    state.printedJson = state.json;
    return exitCode;
  } finally {
    await client?.close();
    await metrics?.server.close();
  }
}
