import type { KeyObject } from 'node:crypto';
import { isSignType, type SignType } from './alipay/sign.js';
import { loadPrivateKey, loadPublicKey } from './alipay/keys.js';
import { SyncError } from './errors.js';

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
  signType?: string;
  appAuthToken?: string;
  qps?: number;
  concurrency?: number;
  maxAttempts?: number;
  requestTimeout?: number;
  backoffMs?: number;
}

export interface SendSettings {
  gateway: string;
  appId: string;
  privateKey: KeyObject;
  alipayPublicKey: KeyObject;
  signType: SignType;
  appAuthToken?: string;
  qps: number;
  concurrency: number;
  maxAttempts: number;
  requestTimeoutMs: number;
  backoffMs: number;
}

function bad(message: string): never {
  throw new SyncError('SYNC_CONFIG_INVALID', message);
}

function number(name: string, v: unknown, min: number, max: number, integer: boolean): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    bad(`--${name} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max} (got ${Number.isNaN(n) ? "something that is not a number" : String(v)})`);
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
    bad(`--gateway must be a URL (…/gateway.do) or one of ${Object.keys(GATEWAYS).join(', ')} (got ${g})`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') bad(`--gateway must be http(s) (got ${g})`);
  if (parsed.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname) && !parsed.hostname.startsWith('127.')) {
    bad(`--gateway ${g}: plain http is only allowed on loopback (a local sandbox); use https`);
  }
  return url;
}

/** Tuning flags, checked even for a dry run so a typo is caught before the real run. */
export function resolveTuning(raw: RawSettings): Pick<SendSettings, 'qps' | 'concurrency' | 'maxAttempts' | 'requestTimeoutMs' | 'backoffMs'> {
  return {
    qps: number('qps', raw.qps ?? 50, 0, 100_000, false),
    concurrency: number('concurrency', raw.concurrency ?? 8, 1, 512, true),
    maxAttempts: number('max-attempts', raw.maxAttempts ?? 5, 1, 100, true),
    requestTimeoutMs: Math.round(number('request-timeout', raw.requestTimeout ?? 15, 0.05, 600, false) * 1000),
    backoffMs: number('backoff-ms', raw.backoffMs ?? 500, 0, 600_000, false),
  };
}

/** Everything needed to send, checked before anything is sent (exit 2 on any problem). */
export function resolveSendSettings(raw: RawSettings): SendSettings {
  const gateway = resolveGateway(raw.gateway);
  const appId = (raw.appId ?? '').trim();
  if (!appId) bad('--app-id is required (or ALIPAY_SYNC_APP_ID)');
  if (!/^\d{16}$/.test(appId) && !/^[\w-]{1,32}$/.test(appId)) bad(`--app-id looks wrong: ${appId}`);
  const signType = (raw.signType ?? 'RSA2').toUpperCase();
  if (!isSignType(signType)) bad(`--sign-type must be RSA2 or RSA (got ${raw.signType})`);
  if (!raw.privateKey) bad('--private-key is required: the app private key file (or ALIPAY_SYNC_PRIVATE_KEY)');
  if (!raw.alipayPublicKey) bad('--alipay-public-key is required: the Alipay public key file, to verify answers (or ALIPAY_SYNC_ALIPAY_PUBLIC_KEY)');
  const privateKey = loadPrivateKey(raw.privateKey, '--private-key');
  const alipayPublicKey = loadPublicKey(raw.alipayPublicKey, '--alipay-public-key');
  if (privateKey.asymmetricKeyType !== 'rsa' || alipayPublicKey.asymmetricKeyType !== 'rsa') {
    throw new SyncError('SYNC_KEY_INVALID', 'keys must be RSA keys');
  }
  const token = raw.appAuthToken?.trim();
  if (token && token.length > 40) bad('--app-auth-token is at most 40 characters');
  return {
    gateway, appId, privateKey, alipayPublicKey, signType, ...(token ? { appAuthToken: token } : {}), ...resolveTuning(raw),
  };
}
