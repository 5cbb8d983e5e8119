/**
 * The sandbox's certificate files in its --keys-dir, named as the Alipay console names them, so the flags it prints
 * look like a real app's: appCertPublicKey_<app id>.crt (for the app key pair), alipayCertPublicKey_RSA2.crt (for its
 * "Alipay" key pair), alipayRootCert.crt; and its own CA key (sandbox_ca_key.pem), to issue the certificate it
 * rotates to. Made once, reused after (a rotation is not kept: a restarted sandbox signs with the first again).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueLeaf, makeCertificateSet, makeRogueIssuer, type CertificateSet } from './cert-maker.js';
import type { SandboxCertFiles } from './cert-mode.js';
import { DEFAULT_SANDBOX_APP_ID } from './options.js';

export interface CertFilePaths {
  /** give to --app-cert */
  appCert: string;
  /** give to --alipay-cert */
  alipayCert: string;
  /** give to --alipay-root-cert */
  rootCert: string;
  /** the sandbox's CA key (never given to alipay-sync) */
  caKey: string;
}

export function certFilesIn(dir: string, appId = DEFAULT_SANDBOX_APP_ID): CertFilePaths {
  return {
    appCert: join(dir, `appCertPublicKey_${appId}.crt`),
    alipayCert: join(dir, 'alipayCertPublicKey_RSA2.crt'),
    rootCert: join(dir, 'alipayRootCert.crt'),
    caKey: join(dir, 'sandbox_ca_key.pem'),
  };
}

/**
 * Certificates for the app key pair and the "Alipay" key pair the sandbox already has, under a fresh root bundle.
 * `days` sets how long the two leaf certificates are valid (tests of expiry warnings make them short).
 */
export function makeCertFiles(appKey: KeyObject, alipayKey: KeyObject, appId: string, o: { appDays?: number; alipayDays?: number } = {}): SandboxCertFiles {
  const set = makeCertificateSet();
  return {
    set,
    appCertPem: issueLeaf(set.intermediate, appKey, appId, { days: o.appDays }).chainPem,
    alipay: issueLeaf(set.intermediate, alipayKey, 'Sandbox Alipay Signing Certificate', { days: o.alipayDays, org: 'Sandbox Alipay' }),
  };
}

/** Write them (0600, never over an existing file). */
export function writeCertFiles(dir: string, files: SandboxCertFiles, appId = DEFAULT_SANDBOX_APP_ID): CertFilePaths {
  const paths = certFilesIn(dir, appId);
  const opts = { mode: 0o600, flag: 'wx' } as const;
  writeFileSync(paths.rootCert, files.set.rootPem, opts);
  writeFileSync(paths.alipayCert, files.alipay.chainPem, opts);
  writeFileSync(paths.appCert, files.appCertPem, opts);
  writeFileSync(paths.caKey, files.set.intermediate.key.export({ format: 'pem', type: 'pkcs8' }) as string, opts);
  return paths;
}

/** The files of a folder written by writeCertFiles (with the "Alipay" private key they were made for), or null. */
export function readCertFiles(dir: string, alipayKey: KeyObject, appId = DEFAULT_SANDBOX_APP_ID): SandboxCertFiles | null {
  const paths = certFilesIn(dir, appId);
  // a folder made before the files took the console's names (appCertPublicKey.crt): its app certificate, renamed
  const before = join(dir, 'appCertPublicKey.crt');
  if (!existsSync(paths.appCert) && existsSync(before)) renameSync(before, paths.appCert);
  if (!Object.values(paths).every((p) => existsSync(p))) return null;
  const read = (p: string) => readFileSync(p, 'utf8');
  const alipayChain = read(paths.alipayCert);
  // the intermediate is the second certificate of the Alipay certificate file
  const blocks = alipayChain.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length < 2) throw new Error(`${paths.alipayCert}: expected the certificate and its issuer`);
  const set: CertificateSet = {
    rootPem: read(paths.rootCert),
    intermediate: { certPem: blocks[1]! + '\n', key: createPrivateKey(read(paths.caKey)) },
    rogue: makeRogueIssuer(),
  };
  return { set, appCertPem: read(paths.appCert), alipay: { chainPem: alipayChain, key: alipayKey } };
}
