import type { KeyObject } from 'node:crypto';
import { statSync } from 'node:fs';
import { beijingDateTime } from '../../sources/fields.js';
import { Ledger } from '../../state/ledger.js';
import { loadAesKey } from '../alipay/aes.js';
import { expiryWarnings, loadCertificates } from '../alipay/certs.js';
import { loadPrivateKey, loadPublicKey } from '../alipay/keys.js';
import { appIdProblem, resolveGateway, GATEWAYS, type RawSettings, type SettingOrigins } from '../config.js';
import { appOwnKeyMessage, describeKey, isAppOwnPublicKey } from './keys.js';

/**
 * The offline checks of `alipay-sync check`, as a list: each looks at the settings (and what the checks before it
 * found) and says ok, warn or fail, without sending anything. `upload` and `agreements` run the same list before
 * anything is read or sent: a fail is exit 2, a warning is printed.
 *
 * Certificate mode (--app-cert, --alipay-cert, --alipay-root-cert) has its entry, `certificates`, after the keys:
 * the app certificate holds the public key of --private-key, the Alipay certificate chains to the root bundle, each
 * is within its validity period (a warning within 30 days of its end), as alipay/certs.ts checks them for a run.
 * A new check is one more entry in OFFLINE_CHECKS; `found` is where a check leaves what it parsed for the ones
 * after it (the keys).
 */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  message: string;
}

export interface CheckInput {
  raw: RawSettings;
  origins: SettingOrigins;
  /** the host's clock, epoch ms */
  now: number;
  /** the ledger, when there is one: the times it recorded bound the clock from below */
  ledgerPath?: string;
  /** when this alipay-sync was installed (its package.json's time): the clock cannot be before it */
  installedAt?: number;
}

/** What earlier checks parsed, for later ones. */
export interface CheckFound {
  privateKey?: KeyObject;
  alipayPublicKey?: KeyObject;
}

export interface OfflineCheck {
  name: string;
  /** null: nothing to check here (the check does not apply to these settings) */
  run(input: CheckInput, found: CheckFound): CheckResult | null;
}

const origin = (i: CheckInput, name: string) => (i.origins[name] && i.origins[name] !== 'default' ? i.origins[name]! : `--${name}`);
const result = (check: string, status: CheckStatus, message: string): CheckResult => ({ check, status, message });

const gateway: OfflineCheck = {
  name: 'gateway',
  run(i) {
    try {
      const url = resolveGateway(i.raw.gateway);
      const named = Object.entries(GATEWAYS).find(([, u]) => u === url)?.[0];
      return result('gateway', 'ok', `${named ? `${named}: ` : ''}${url}`);
    } catch (err) {
      return result('gateway', 'fail', (err as Error).message);
    }
  },
};

const appId: OfflineCheck = {
  name: 'app-id',
  run(i) {
    const id = (i.raw.appId ?? '').trim();
    const wrong = appIdProblem(id, origin(i, 'app-id'));
    return wrong ? result('app-id', 'fail', wrong) : result('app-id', 'ok', `${id} (only the gateway can say it is yours: --online)`);
  },
};

const CERT_OPTIONS = ['app-cert', 'alipay-cert', 'alipay-root-cert'] as const;
const certValues = (i: CheckInput) => ({ 'app-cert': i.raw.appCert, 'alipay-cert': i.raw.alipayCert, 'alipay-root-cert': i.raw.alipayRootCert });
/** Certificate mode: any of the three certificate files given (the Alipay public key is then not used). */
const certMode = (i: CheckInput) => Object.values(certValues(i)).some((v) => v?.trim());

const keys: OfflineCheck = {
  name: 'keys',
  run(i, found) {
    const problems: string[] = [];
    const parsed: string[] = [];
    const load = <T>(value: string | undefined, name: string, what: string, parse: (v: string, label: string) => T): T | undefined => {
      if (!value) {
        problems.push(`--${name} is required: ${what}`);
        return undefined;
      }
      try {
        return parse(value, origin(i, name));
      } catch (err) {
        problems.push((err as Error).message);
        return undefined;
      }
    };
    const priv = load(i.raw.privateKey, 'private-key', 'the app private key file', loadPrivateKey);
    let pub;
    if (!certMode(i)) pub = load(i.raw.alipayPublicKey, 'alipay-public-key', 'the Alipay public key file, to verify answers (or, in certificate mode, --app-cert, --alipay-cert and --alipay-root-cert)', loadPublicKey);
    else if (i.raw.alipayPublicKey?.trim()) problems.push(`${origin(i, 'alipay-public-key')} and the certificate files are two signing modes (公钥 and 公钥证书): give one`);
    for (const [k, what] of [[priv, 'app private key'], [pub, 'Alipay public key']] as const) {
      if (!k) continue;
      if (k.asymmetricKeyType !== 'rsa') problems.push(`the ${what} is ${describeKey(k)}: keys must be RSA keys`);
      else parsed.push(`${what}: ${describeKey(k)}`);
    }
    if (problems.length) return result('keys', 'fail', problems.join('; '));
    found.privateKey = priv;
    found.alipayPublicKey = pub;
    return result('keys', 'ok', parsed.join('; '));
  },
};

const keyPair: OfflineCheck = {
  name: 'key-pair',
  run(i, found) {
    if (!found.privateKey || !found.alipayPublicKey) return null;
    if (isAppOwnPublicKey(found.privateKey, found.alipayPublicKey)) {
      return result('key-pair', 'fail', appOwnKeyMessage(origin(i, 'alipay-public-key'), origin(i, 'private-key')));
    }
    return result('key-pair', 'ok', 'the Alipay public key is not the pair of your private key (as it must be: it is Alipay\'s; --online proves it is the right one)');
  },
};

const certificates: OfflineCheck = {
  name: 'certificates',
  run(i, found) {
    if (!certMode(i)) return null;
    const values = certValues(i);
    const missing = CERT_OPTIONS.filter((n) => !values[n]?.trim());
    if (missing.length) return result('certificates', 'fail', `certificate mode needs ${missing.map((n) => `--${n}`).join(' and ')} too`);
    if (!found.privateKey) return null;
    try {
      const certs = loadCertificates({ appCert: values['app-cert']!, alipayCert: values['alipay-cert']!, rootCert: values['alipay-root-cert']! }, found.privateKey, i.now, (n) => origin(i, n));
      const warnings = expiryWarnings(certs.expiries(), i.now);
      const ends = certs.expiries().map((e) => `${e.role === 'app' ? 'app certificate' : `Alipay certificate ${e.sn}`} until ${e.validTo.slice(0, 10)}`).join(', ');
      if (warnings.length) return result('certificates', 'warn', warnings.join('; '));
      return result('certificates', 'ok', `the app certificate holds the pair of --private-key, the Alipay certificate chains to the root; ${ends}`);
    } catch (err) {
      return result('certificates', 'fail', (err as Error).message);
    }
  },
};

const encryptKey: OfflineCheck = {
  name: 'encrypt-key',
  run(i) {
    if (!i.raw.encryptKey?.trim()) return null;
    try {
      loadAesKey(i.raw.encryptKey, origin(i, 'encrypt-key'));
      return result('encrypt-key', 'ok', 'an AES key (content encryption: only --online shows the app has it switched on)');
    } catch (err) {
      return result('encrypt-key', 'fail', (err as Error).message);
    }
  },
};

/** How far behind a time it has seen the clock may be before it is called wrong (clocks of two hosts differ a little). */
const SLACK_MS = 15 * 60_000;

const clock: OfflineCheck = {
  name: 'clock',
  run(i) {
    const now = new Date(i.now);
    const text = `${now.toISOString().replace('T', ' ').slice(0, 19)} UTC, ${beijingDateTime(i.now)} in Beijing (requests carry Beijing time whatever the host's zone)`;
    const year = now.getUTCFullYear();
    if (!Number.isFinite(i.now) || year < 2024 || year > 2100) return result('clock', 'fail', `the host clock says ${text}: set it (Alipay refuses requests whose timestamp is off by minutes)`);
    const floors: [number, string][] = [];
    if (i.installedAt) floors.push([i.installedAt, 'this alipay-sync was installed']);
    const last = i.ledgerPath ? lastLedgerTime(i.ledgerPath) : null;
    if (last !== null) floors.push([last, 'the ledger\'s latest run started']);
    for (const [t, what] of floors) {
      if (i.now < t - SLACK_MS) {
        return result('clock', 'warn', `the host clock says ${text}, ${Math.round((t - i.now) / 60_000)} minutes before ${what} (${new Date(t).toISOString()}): if this host's clock is wrong, Alipay refuses every request (isv.invalid-timestamp); --online compares it with the gateway's`);
      }
    }
    return result('clock', 'ok', `${text}; --online compares it with the gateway's`);
  },
};

/** The start of the ledger's latest run, read without changing the file; null without a readable one. */
function lastLedgerTime(path: string): number | null {
  if (Ledger.inspect(path).kind !== 'ledger') return null;
  try {
    const ledger = new Ledger(path, { readonly: true });
    try {
      const run = ledger.recentRuns(1)[0];
      return run ? Date.parse(run.startedAt) : null;
    } finally {
      ledger.close();
    }
  } catch {
    return null;
  }
}

/** The list, in order. */
export const OFFLINE_CHECKS: readonly OfflineCheck[] = [gateway, appId, keys, keyPair, certificates, encryptKey, clock];

export function runOfflineChecks(input: CheckInput, checks: readonly OfflineCheck[] = OFFLINE_CHECKS): { results: CheckResult[]; found: CheckFound } {
  const found: CheckFound = {};
  const results: CheckResult[] = [];
  for (const c of checks) {
    const r = c.run(input, found);
    if (r) results.push(r);
  }
  return { results, found };
}

/** When this alipay-sync was installed: its package.json's modification time (undefined when unreadable). */
export function installedAt(): number | undefined {
  try {
    return statSync(new URL('../../../package.json', import.meta.url)).mtimeMs;
  } catch {
    return undefined;
  }
}
