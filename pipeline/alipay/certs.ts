/**
 * Certificate mode (公钥证书): the app certificate (its SN goes on every request as `app_cert_sn`), the Alipay root
 * bundle (`alipay_root_cert_sn`, and the trust anchor for every Alipay certificate) and the Alipay certificates
 * answers are verified with, by the SN an answer names in `alipay_cert_sn`. An Alipay certificate is taken only
 * when it chains to the root bundle and is within its validity period, as the Java SDK checks one it downloads
 * (AntCertificationUtil.isTrusted): the certificates of its file are ordered from the one the root issued down to
 * the first of the file (the one the file is named by), and each signature is checked.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { SyncError } from '../errors.js';
import { certSn, pemCertificates, rootCertSn } from './cert-sn.js';
import { DerError } from './der.js';

/** Certificates that end within this many days are warned about at the start of a run and in `status`. */
export const EXPIRY_WARNING_DAYS = 30;

export interface CertExpiry {
  role: 'app' | 'alipay';
  sn: string;
  /** ISO time the certificate stops being valid */
  validTo: string;
}

function bad(message: string): never {
  throw new SyncError('SYNC_KEY_INVALID', message);
}

/** A certificate setting: a path to a .crt file, or its PEM text (an environment variable). */
export function readCertSetting(value: string, label: string): string {
  const v = value.trim();
  if (v.includes('-----BEGIN CERTIFICATE-----')) return v;
  if (v.length < 1024 && existsSync(v)) {
    try {
      return readFileSync(v, 'utf8');
    } catch (err) {
      bad(`${label}: cannot read ${v}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  bad(`${label}: not an existing certificate file${v.length < 200 && !/[A-Za-z0-9+/]{40,}/.test(v) ? ` (${v})` : ''}`);
}

/** The certificates of a PEM text, parsed, in file order; a reason when there are none or one cannot be read. */
export function parseChain(pem: string): X509Certificate[] | string {
  const ders = pemCertificates(pem);
  if (ders.length === 0) return 'no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)';
  try {
    return ders.map((d) => new X509Certificate(d));
  } catch {
    return 'a certificate in it cannot be read';
  }
}

function validAt(c: X509Certificate, now: number): boolean {
  return Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
}

/** Why `chain` (its first certificate the one that counts) is not trusted under `roots` at `now`, or null. */
export function chainProblem(chain: readonly X509Certificate[], roots: readonly X509Certificate[], now: number): string | null {
  // From the first certificate up to the one a root issued, each issued by the next.
  const path = [chain[0]!];
  for (;;) {
    const top = path[path.length - 1]!;
    const up = chain.find((c) => !path.includes(c) && top.checkIssued(c) && top.verify(c.publicKey));
    if (!up) break;
    path.push(up);
  }
  if (path.length !== chain.length) return 'its certificates do not form one chain';
  for (let i = 0; i + 1 < path.length; i++) if (!path[i]!.verify(path[i + 1]!.publicKey)) return 'a signature in its chain does not verify';
  const top = path[path.length - 1]!;
  if (!roots.some((r) => top.checkIssued(r) && top.verify(r.publicKey))) return 'it is not issued under the Alipay root certificate (--alipay-root-cert)';
  const stale = path.find((c) => !validAt(c, now));
  if (stale) return `it is ${Date.parse(stale.validTo) < now ? 'expired' : 'not yet valid'} (valid ${new Date(Date.parse(stale.validFrom)).toISOString()} to ${new Date(Date.parse(stale.validTo)).toISOString()})`;
  return null;
}

interface AlipayCert {
  key: KeyObject;
  validTo: string;
  pem: string;
}

export class AlipayCertificates {
  private readonly known = new Map<string, AlipayCert>();
  private configured = '';

  constructor(
    readonly appCertSn: string,
    readonly rootCertSn: string,
    private readonly roots: readonly X509Certificate[],
    private readonly appValidTo: string,
  ) {}

  /** the SN of the Alipay certificate you configured (--alipay-cert) */
  get configuredSn(): string {
    return this.configured;
  }

  /** The public key of the Alipay certificate `sn` names, when it is known and trusted. */
  keyOf(sn: string): KeyObject | undefined {
    return this.known.get(sn)?.key;
  }

  has(sn: string): boolean {
    return this.known.has(sn);
  }

  /**
   * Take an Alipay certificate (a PEM chain, its first certificate the Alipay one) when it chains to the root and
   * is valid at `now`: its SN, or a reason why not. `configured` marks the one of --alipay-cert (kept when expired:
   * answers naming a newer one make it irrelevant).
   */
  adopt(pem: string, now: number, o: { configured?: boolean } = {}): { sn: string } | { problem: string } {
    const chain = parseChain(pem);
    if (typeof chain === 'string') return { problem: chain };
    const problem = chainProblem(chain, this.roots, now);
    if (problem && !(o.configured && problem.startsWith('it is expired'))) return { problem };
    const sn = certSn(chain[0]!.raw);
    if (o.configured) this.configured = sn;
    this.known.set(sn, { key: chain[0]!.publicKey, validTo: new Date(Date.parse(chain[0]!.validTo)).toISOString(), pem });
    return { sn };
  }

  /** The PEM of a certificate adopted under `sn` (to keep it). */
  pemOf(sn: string): string | undefined {
    return this.known.get(sn)?.pem;
  }

  /** When each certificate in use ends: the app's and every Alipay certificate known. */
  expiries(): CertExpiry[] {
    return [
      { role: 'app', sn: this.appCertSn, validTo: this.appValidTo },
      ...[...this.known].map(([sn, c]) => ({ role: 'alipay' as const, sn, validTo: c.validTo })),
    ];
  }
}

/** What to say about certificates that end within EXPIRY_WARNING_DAYS of `now` (or have ended). */
export function expiryWarnings(list: readonly CertExpiry[], now: number): string[] {
  const out: string[] = [];
  for (const e of list) {
    const days = Math.floor((Date.parse(e.validTo) - now) / 86_400_000);
    if (days >= EXPIRY_WARNING_DAYS) continue;
    const what = e.role === 'app' ? 'the app certificate (--app-cert)' : `the Alipay certificate ${e.sn}`;
    const when = days < 0 ? `expired on ${e.validTo.slice(0, 10)}` : `expires on ${e.validTo.slice(0, 10)} (in ${days} day${days === 1 ? '' : 's'})`;
    const todo = e.role === 'app'
      ? 'renew it in the Alipay console (开发设置 → 接口加签方式) and give the new file'
      : 'Alipay rotates its certificate before then; a newer one is fetched by itself';
    out.push(`${what} ${when}: ${todo}`);
  }
  return out;
}

export interface CertFiles {
  appCert: string;
  alipayCert: string;
  rootCert: string;
}

/**
 * Read and check the three certificate settings against the app private key, before anything is sent (exit 2):
 * each file holds certificates; the app certificate is the pair of the private key and still valid; the root
 * bundle has an RSA-signed certificate; the Alipay certificate is not the app's and chains to the root.
 */
export function loadCertificates(files: CertFiles, privateKey: KeyObject, now: number, label: (name: string) => string): AlipayCertificates {
  const read = (name: string, value: string) => {
    const chain = parseChain(readCertSetting(value, label(name)));
    if (typeof chain === 'string') bad(`${label(name)}: ${chain}`);
    return chain;
  };
  const app = read('app-cert', files.appCert)[0]!;
  const rootText = readCertSetting(files.rootCert, label('alipay-root-cert'));
  const roots = read('alipay-root-cert', files.rootCert);
  const alipayText = readCertSetting(files.alipayCert, label('alipay-cert'));
  read('alipay-cert', files.alipayCert);
  let rootSn: string;
  let appSn: string;
  try {
    rootSn = rootCertSn(rootText);
    appSn = certSn(app.raw);
  } catch (err) {
    if (err instanceof DerError) bad(`${label('app-cert')} / ${label('alipay-root-cert')}: a certificate cannot be read (${err.message})`);
    throw err;
  }
  if (!rootSn) bad(`${label('alipay-root-cert')}: no RSA-signed certificate in it: give alipayRootCert.crt as the Alipay console offers it`);
  if (!app.checkPrivateKey(privateKey)) {
    bad(`${label('app-cert')} does not belong to ${label('private-key')}: the app certificate holds another public key (give the appCertPublicKey_<app id>.crt made from this private key's CSR)`);
  }
  if (Date.parse(app.validTo) < now) bad(`${label('app-cert')} expired on ${new Date(Date.parse(app.validTo)).toISOString().slice(0, 10)}: renew it in the Alipay console`);
  const certs = new AlipayCertificates(appSn, rootSn, roots, new Date(Date.parse(app.validTo)).toISOString());
  const adopted = certs.adopt(alipayText, now, { configured: true });
  if ('problem' in adopted) bad(`${label('alipay-cert')}: ${adopted.problem}`);
  if (adopted.sn === appSn) bad(`${label('alipay-cert')} is your app certificate: give the Alipay certificate (alipayCertPublicKey_RSA2.crt)`);
  return certs;
}
