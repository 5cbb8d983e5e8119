import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPrivateKey, loadPublicKey } from '../alipay/keys.js';
import { SyncError } from '../errors.js';
import type { Logger } from '../log.js';
import { BEHAVIOUR_NAMES, parseBehaviours, type Behaviours } from './behaviours.js';
import { FAULT_KINDS, type FaultKind, type FaultOptions } from './faults.js';
import { generateKeyPairs, keyFilesIn, readKeyFiles, writeKeyFiles, type KeyPairs } from './keys.js';
import { DEFAULT_SANDBOX_APP_ID, SandboxGateway } from './server.js';
import { parseAgreementSeed, type SeedAgreement } from './methods/agreements.js';
import { readFileSync } from 'node:fs';
import { listenError, untilStopped } from '../serve.js';
import { prepareExtras } from './command-extras.js';

export interface SandboxArgs {
  port: number;
  appId?: string;
  appPublicKey?: string;
  alipayPrivateKey?: string;
  keysDir: string;
  fault?: string[];
  slowMs: number;
  faultSeed: number;
  faultMaxPerRequest?: number;
  agreements?: string;
  quota?: number;
  dailyQuota?: number;
  merchantQuota?: number;
  merchantDailyQuota?: number;
  /** app_auth_tokens it accepts (`--merchant-token`), and those it refuses as expired (`--expired-token`) */
  tokens?: string[];
  expiredTokens?: string[];
  /** behaviours to switch on (`--behave NAME`, repeatable) */
  behave?: string[];
  /** certificate mode: certificates in keysDir (made when absent) */
  certMode?: boolean;
  rotateAfter?: number;
  /** content encryption: an AES key in keysDir (made when absent) */
  contentEncryption?: boolean;
}

export function parseFaults(specs: readonly string[] | undefined): FaultOptions['rates'] {
  const rates: Partial<Record<FaultKind, number>> = {};
  let sum = 0;
  for (const spec of specs ?? []) {
    const m = /^([a-z_0-9]+)=([0-9.]+)$/.exec(spec.trim());
    const kind = m?.[1] as FaultKind | undefined;
    const share = Number(m?.[2]);
    if (!kind || !FAULT_KINDS.includes(kind) || !(share >= 0 && share <= 1)) {
      throw new SyncError('SYNC_CONFIG_INVALID', `--fault ${spec}: expected KIND=SHARE with SHARE from 0 to 1 and KIND one of ${FAULT_KINDS.join(', ')}`);
    }
    rates[kind] = share;
    sum += share;
  }
  if (sum > 1) throw new SyncError('SYNC_CONFIG_INVALID', `--fault shares add up to ${sum}, more than 1`);
  return rates;
}

/** The package's sample file, by its absolute path: the printed `try:` line works from any folder. */
const SAMPLE = fileURLToPath(new URL('../../../examples/borrow-entities.csv', import.meta.url));

function quotaText(a: SandboxArgs): string {
  const parts = [
    a.quota ? `${a.quota}/s` : '', a.dailyQuota ? `${a.dailyQuota}/day` : '',
    a.merchantQuota ? `${a.merchantQuota}/s per merchant` : '', a.merchantDailyQuota ? `${a.merchantDailyQuota}/day per merchant` : '',
  ].filter(Boolean);
  return parts.length ? `   quota: ${parts.join(', ')}` : '';
}

/** `alipay-sync sandbox`: serve until Ctrl-C. */
export async function runSandboxCommand(a: SandboxArgs, logger: Logger): Promise<number> {
  const rates = parseFaults(a.fault);
  let behaviours: Behaviours;
  try {
    behaviours = parseBehaviours(a.behave);
  } catch (err) {
    throw new SyncError('SYNC_CONFIG_INVALID', `--behave: ${(err as Error).message}`);
  }
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new SyncError('SYNC_CONFIG_INVALID', `--port must be 0-65535 (got ${a.port})`);
  let appPublicKey;
  let alipayPrivateKey;
  let keyNote: string[];
  // Keys of a folder are reused (a restarted sandbox keeps working with the flags it printed before); fresh ones
  // are written only after the port is bound, so a second sandbox on a busy port changes nothing.
  let fresh: KeyPairs | null = null;
  let pairs: KeyPairs | null = null;
  const keysDir = resolve(a.keysDir);
  if (a.appPublicKey || a.alipayPrivateKey) {
    if (!a.appPublicKey || !a.alipayPrivateKey) {
      throw new SyncError('SYNC_CONFIG_INVALID', 'give both --app-public-key and --alipay-private-key, or neither (keys from --keys-dir are used)');
    }
    appPublicKey = loadPublicKey(a.appPublicKey, '--app-public-key');
    alipayPrivateKey = loadPrivateKey(a.alipayPrivateKey, '--alipay-private-key');
    keyNote = ['  (using the keys you gave)'];
  } else {
    let existing;
    try {
      existing = readKeyFiles(keysDir);
    } catch (err) {
      throw new SyncError('SYNC_KEY_INVALID', `--keys-dir ${keysDir}: its key files cannot be read (${err instanceof SyncError ? 'not keys' : (err as NodeJS.ErrnoException).code ?? 'not keys'}); remove them or name another folder`);
    }
    const keys = (pairs = existing?.keys ?? (fresh = generateKeyPairs()));
    appPublicKey = keys.appPublicKey;
    alipayPrivateKey = keys.alipayPrivateKey;
    const files = keyFilesIn(keysDir);
    keyNote = [
      `  ${existing ? 'keys' : 'fresh throw-away keys'} in ${keysDir}:`,
      `    --private-key ${files.appPrivateKey}`,
      `    --alipay-public-key ${files.alipayPublicKey}`,
    ];
  }
  if (a.rotateAfter !== undefined && (!a.certMode || !Number.isInteger(a.rotateAfter) || a.rotateAfter < 1)) {
    throw new SyncError('SYNC_CONFIG_INVALID', '--rotate-after goes with --cert-mode and is a whole number of requests, 1 or more');
  }
  if ((a.certMode || a.contentEncryption) && (a.appPublicKey || a.alipayPrivateKey)) {
    throw new SyncError('SYNC_CONFIG_INVALID', '--cert-mode and --content-encryption keep their files in --keys-dir: leave out --app-public-key and --alipay-private-key');
  }
  const extras = a.certMode || a.contentEncryption ? prepareExtras(keysDir, pairs!, a) : null;
  if (extras) keyNote = [keyNote[0]!, `    --private-key ${keyFilesIn(keysDir).appPrivateKey}`, ...extras.flags];
  let agreements: SeedAgreement[] = [];
  if (a.agreements) {
    try {
      agreements = parseAgreementSeed(readFileSync(a.agreements, 'utf8'));
    } catch (err) {
      throw new SyncError('SYNC_CONFIG_INVALID', `--agreements ${a.agreements}: ${(err as Error).message}`);
    }
  }
  for (const [name, v] of [['--quota', a.quota], ['--daily-quota', a.dailyQuota], ['--merchant-quota', a.merchantQuota], ['--merchant-daily-quota', a.merchantDailyQuota]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new SyncError('SYNC_CONFIG_INVALID', `${name} must be a whole number, 0 or more (got ${v})`);
  }
  const gateway = new SandboxGateway({
    agreements, ...(a.quota ? { quota: a.quota } : {}), ...(a.dailyQuota ? { dailyQuota: a.dailyQuota } : {}),
    ...(a.merchantQuota ? { merchantQuota: a.merchantQuota } : {}), ...(a.merchantDailyQuota ? { merchantDailyQuota: a.merchantDailyQuota } : {}),
    ...(a.tokens?.length ? { appAuthTokens: a.tokens } : {}), ...(a.expiredTokens?.length ? { expiredAppAuthTokens: a.expiredTokens } : {}),
    port: a.port, appId: a.appId, appPublicKey, alipayPrivateKey,
    faults: { rates, slowMs: a.slowMs, seed: a.faultSeed, maxPerRequest: a.faultMaxPerRequest },
    behaviours, ...extras?.options,
  });
  let url: string;
  try {
    url = await gateway.start();
  } catch (err) {
    throw listenError(err, 'sandbox', '127.0.0.1', a.port);
  }
  if (fresh || extras?.write) {
    try {
      if (fresh) writeKeyFiles(keysDir, fresh);
      extras?.write?.();
    } catch (err) {
      await gateway.stop();
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'its parent folder does not exist'
        : code === 'EEXIST' ? 'it holds some of the key files but not all four: remove them, or name another folder'
        : code === 'ENOTDIR' ? 'it is not a folder' : code === 'EACCES' ? 'permission denied' : code ?? (err as Error).message;
      throw new SyncError('SYNC_OUTPUT', `--keys-dir ${keysDir}: cannot write the keys: ${why}`);
    }
  }
  const appId = a.appId ?? DEFAULT_SANDBOX_APP_ID;
  const faultList = Object.entries(rates ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
  // Listen for the stop signals before saying we listen: a supervisor that stops us as soon as it reads the
  // line must not find the default action (death) still in place.
  const stopped = untilStopped();
  process.stdout.write(
    [
      `sandbox gateway listening on ${url}`,
      `  app id: ${appId}`,
      ...keyNote,
      faultList ? `  faults: ${faultList}` : '  faults: none',
      `  behaviours: ${Object.keys(behaviours).join(', ') || `none (known: ${BEHAVIOUR_NAMES.join(', ')})`}`,
      `  agreements: ${agreements.length}${quotaText(a)}`,
      ...(a.tokens?.length || a.expiredTokens?.length ? [`  merchants: ${a.tokens?.length ?? 0} token(s) accepted, ${a.expiredTokens?.length ?? 0} expired (any other token is ${a.tokens?.length ? 'refused' : 'accepted'})`] : []),
      ...(extras?.notes ?? []),
      `  state: ${url.replace('/gateway.do', '/_sandbox/state')}   requests: ${url.replace('/gateway.do', '/_sandbox/requests')}`,
      '',
      `try: alipay-sync upload borrow-entities ${SAMPLE} --gateway ${url} --app-id ${appId} ${keyNote.length > 1 ? keyNote.slice(1).map((l) => l.trim()).join(' ') : '--private-key … --alipay-public-key …'}`,
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await stopped;
  await gateway.stop();
  logger.info('sandbox stopped');
  return 0;
}
