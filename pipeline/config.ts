import type { KeyObject } from 'node:crypto';
import { appOwnKeyMessage, isAppOwnPublicKey } from './check/keys.js';
import { isSignType, type SignType } from './alipay/sign.js';
import { loadPrivateKey, loadPublicKey } from './alipay/keys.js';
import { loadAesKey } from './alipay/aes.js';
import { expiryWarnings, loadCertificates } from './alipay/certs.js';
import { SyncError } from './errors.js';
import type { ClientOptions } from './alipay/client.js';

/** Named gateways, so `--gateway sandbox` is enough. */
export const GATEWAYS: Readonly<Record<string, string>> = {
  production: 'https://openapi.alipay.com/gateway.do',
  sandbox: 'https://openapi-sandbox.dl.alipaydev.com/gateway.do',
};

export interface RawSettings {
  gateway?: string;
  appId?: string;
  privateKey?: string;
  alipayPublicKey?: string;
  appCert?: string;
  alipayCert?: string;
  alipayRootCert?: string;
  encryptKey?: string;
  signType?: string;
  appAuthToken?: string;
  qps?: number;
  concurrency?: number;
  maxAttempts?: number;
  requestTimeout?: number;
  backoffMs?: number;
}

/** Where each setting came from (`--qps`, `ALIPAY_SYNC_QPS (environment)`, a config key), for messages. */
export type SettingOrigins = Readonly<Record<string, string>>;

/** The client's credentials (see ClientOptions, where each is described) and how a run sends. */
export interface SendSettings extends Pick<ClientOptions, 'gateway' | 'appId' | 'privateKey' | 'alipayPublicKey' | 'certificates' | 'encryptKey'> {
  /** what to tell the user before anything is sent (certificates close to expiry) */
  warnings: string[];
  signType: SignType;
  appAuthToken?: string;
  qps: number;
  concurrency: number;
  maxAttempts: number;
  requestTimeoutMs: number;
  backoffMs: number;
  /** what the ledger binds to: the same gateway, app and merchant, or another ledger */
  target: { gateway: string; appId: string; appAuthToken?: string };
  /** key material for the ledger's hash secret: the app private key, which the user already keeps apart */
  hashKey: Buffer;
}

function bad(message: string): never {
  throw new SyncError('SYNC_CONFIG_INVALID', message);
}

let origins: SettingOrigins = {};

/** `--qps`, or the environment variable / config key it really came from. */
function from(name: string): string {
  const o = origins[name];
  return o && o !== 'default' ? o : `--${name}`;
}

function number(name: string, v: unknown, min: number, max: number, integer: boolean): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    bad(`${from(name)} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max} (got ${Number.isNaN(n) ? "something that is not a number" : String(v)})`);
  }
  return n;
}

export function resolveGateway(v: string | undefined): string {
  const g = (v ?? 'production').trim();
  const url = GATEWAYS[g] ?? g;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    bad(`${from('gateway')} must be a URL (…/gateway.do) or one of ${Object.keys(GATEWAYS).join(', ')} (got ${g})`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') bad(`${from('gateway')} must be http(s) (got ${g})`);
  if (parsed.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname) && !parsed.hostname.startsWith('127.')) {
    bad(`${from('gateway')} ${g}: plain http is only allowed on loopback (a local sandbox); use https`);
  }
  return url;
}

/**
 * The gateway as a ledger remembers it: a local sandbox on loopback is one target whatever its port (each
 * `npm start` or test picks a free one); any other gateway is its URL.
 */
export function targetGateway(url: string): string {
  const u = new URL(url);
  if (u.protocol === 'http:' && (u.hostname === 'localhost' || u.hostname === '[::1]' || u.hostname.startsWith('127.'))) {
    return `http://loopback${u.pathname} (a local sandbox, any port)`;
  }
  return url;
}

/** Tuning flags, checked even for a dry run so a typo is caught before the real run. */
export function resolveTuning(raw: RawSettings, o: SettingOrigins = {}): Pick<SendSettings, 'qps' | 'concurrency' | 'maxAttempts' | 'requestTimeoutMs' | 'backoffMs'> {
  origins = o;
  return {
    qps: number('qps', raw.qps ?? 50, 0, 100_000, false),
    concurrency: number('concurrency', raw.concurrency ?? 8, 1, 512, true),
    maxAttempts: number('max-attempts', raw.maxAttempts ?? 5, 1, 100, true),
    requestTimeoutMs: Math.round(number('request-timeout', raw.requestTimeout ?? 15, 0.05, 600, false) * 1000),
    backoffMs: number('backoff-ms', raw.backoffMs ?? 500, 0, 600_000, false),
  };
}

/** What is wrong with an app id (from `origin`), or null. */
export function appIdProblem(appId: string, origin: string): string | null {
  if (!appId) return '--app-id is required (or ALIPAY_SYNC_APP_ID)';
  if (!/^\d{16}$/.test(appId) && !/^[\w-]{1,32}$/.test(appId)) return `${origin} looks wrong: ${appId.length > 32 ? `${appId.length} characters` : appId} (an app id is 16 digits, e.g. 2021004100000000)`;
  return null;
}

/** Everything needed to send, checked before anything is sent (exit 2 on any problem). */
export function resolveSendSettings(raw: RawSettings, o: SettingOrigins = {}): SendSettings {
  origins = o;
  const gateway = resolveGateway(raw.gateway);
  const appId = (raw.appId ?? '').trim();
  const appIdWrong = appIdProblem(appId, from('app-id'));
  if (appIdWrong) bad(appIdWrong);
  const signType = (raw.signType ?? 'RSA2').toUpperCase();
  if (!isSignType(signType)) bad(`--sign-type must be RSA2 or RSA (got ${raw.signType})`);
  if (!raw.privateKey) bad('--private-key is required: the app private key file (or ALIPAY_SYNC_PRIVATE_KEY)');
  const privateKey = loadPrivateKey(raw.privateKey, from('private-key'));
  if (privateKey.asymmetricKeyType !== 'rsa') throw new SyncError('SYNC_KEY_INVALID', 'keys must be RSA keys');
  const verification = resolveVerification(raw, privateKey);
  const encryptKey = raw.encryptKey?.trim() ? loadAesKey(raw.encryptKey, from('encrypt-key')) : undefined;
  const token = raw.appAuthToken?.trim();
  if (token && token.length > 40) bad(`${from('app-auth-token')} is at most 40 characters`);
  return {
    gateway, appId, privateKey, ...verification, ...(encryptKey ? { encryptKey } : {}), signType, ...(token ? { appAuthToken: token } : {}), ...resolveTuning(raw, o),
    target: { gateway: targetGateway(gateway), appId, ...(token ? { appAuthToken: token } : {}) },
    hashKey: privateKey.export({ type: 'pkcs8', format: 'der' }),
  };
}

const CERT_OPTIONS = ['app-cert', 'alipay-cert', 'alipay-root-cert'] as const;

/**
 * How answers are verified: with the Alipay public key, or (certificate mode) with the Alipay certificates under the
 * root bundle. Exactly one mode; the keys and certificates are checked against the private key offline.
 */
function resolveVerification(raw: RawSettings, privateKey: KeyObject): Pick<SendSettings, 'alipayPublicKey' | 'certificates' | 'warnings'> {
  const certValues = { 'app-cert': raw.appCert, 'alipay-cert': raw.alipayCert, 'alipay-root-cert': raw.alipayRootCert };
  const given = CERT_OPTIONS.filter((n) => certValues[n]?.trim());
  if (given.length > 0) {
    if (raw.alipayPublicKey?.trim()) {
      bad(`${from('alipay-public-key')} and ${given.map(from).join(', ')} are two signing modes (公钥 and 公钥证书): give the Alipay public key, or the three certificate files, not both`);
    }
    const missing = CERT_OPTIONS.filter((n) => !given.includes(n));
    if (missing.length) bad(`certificate mode needs ${missing.map((n) => `--${n}`).join(' and ')} too (given: ${given.map(from).join(', ')})`);
    const now = Date.now();
    const certificates = loadCertificates({ appCert: raw.appCert!, alipayCert: raw.alipayCert!, rootCert: raw.alipayRootCert! }, privateKey, now, from);
    return { certificates, warnings: expiryWarnings(certificates.expiries(), now) };
  }
  if (!raw.alipayPublicKey) bad('--alipay-public-key is required: the Alipay public key file, to verify answers (or ALIPAY_SYNC_ALIPAY_PUBLIC_KEY); in certificate mode give --app-cert, --alipay-cert and --alipay-root-cert instead');
  const alipayPublicKey = loadPublicKey(raw.alipayPublicKey, from('alipay-public-key'));
  if (alipayPublicKey.asymmetricKeyType !== 'rsa') throw new SyncError('SYNC_KEY_INVALID', 'keys must be RSA keys');
  // The commonest key mistake, caught offline (check/keys.ts): nothing is sent with it.
  if (isAppOwnPublicKey(privateKey, alipayPublicKey)) {
    throw new SyncError('SYNC_KEY_INVALID', appOwnKeyMessage(from('alipay-public-key'), from('private-key')));
  }
  return { alipayPublicKey, warnings: [] };
}
