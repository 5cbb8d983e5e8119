/**
 * Throw-away certificates for the sandbox's certificate mode (公钥证书), shaped like the files the Alipay console
 * gives: a root bundle of two RSA roots (alipayRootCert.crt), an intermediate CA under the first, and leaf
 * certificates it issues — the Alipay certificate (alipayCertPublicKey_RSA2.crt) and the app certificate
 * (appCertPublicKey_<app id>.crt), each file the leaf followed by the intermediate. node:crypto cannot make
 * certificates; node-forge does (RSA with SHA-256), from keys node:crypto makes.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

const DAY = 86_400_000;

export interface Issuer {
  certPem: string;
  key: KeyObject;
}

export interface Leaf {
  /** the certificate file: the leaf, then the intermediate */
  chainPem: string;
  key: KeyObject;
}

type Attrs = { shortName: string; value: string }[];

function dn(cn: string, o = 'Sandbox Alipay', ou = 'Certification Authority'): Attrs {
  return [{ shortName: 'C', value: 'CN' }, { shortName: 'O', value: o }, { shortName: 'OU', value: ou }, { shortName: 'CN', value: cn }];
}

/** A positive serial number of 8 random bytes, as hex. */
function serial(): string {
  const b = randomBytes(8);
  b[0] = (b[0]! & 0x7f) | 0x10;
  return b.toString('hex');
}

function forgeKey(key: KeyObject): forge.pki.rsa.PrivateKey {
  return forge.pki.privateKeyFromPem(key.export({ format: 'pem', type: 'pkcs1' }) as string) as forge.pki.rsa.PrivateKey;
}

function forgePublic(key: KeyObject): forge.pki.rsa.PublicKey {
  return forge.pki.publicKeyFromPem(createPublicKey(key).export({ format: 'pem', type: 'spki' }) as string) as forge.pki.rsa.PublicKey;
}

/** One certificate: `subject` with `publicKey`, issued by `issuer` (itself when absent), valid from a day ago for `days`. */
function certificate(o: { subject: Attrs; publicKey: KeyObject; issuer?: Issuer; signer: KeyObject; ca: boolean; days: number; now: number }): string {
  const c = forge.pki.createCertificate();
  c.publicKey = forgePublic(o.publicKey);
  c.serialNumber = serial();
  c.validity.notBefore = new Date(o.now - DAY);
  c.validity.notAfter = new Date(o.now + o.days * DAY);
  c.setSubject(o.subject);
  c.setIssuer(o.issuer ? forge.pki.certificateFromPem(o.issuer.certPem).subject.attributes : o.subject);
  c.setExtensions(o.ca
    ? [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }]
    : [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true, critical: true }]);
  c.sign(forgeKey(o.signer), forge.md.sha256.create());
  return forge.pki.certificateToPem(c);
}

function rsaKey(): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

export interface CertificateSet {
  /** alipayRootCert.crt: two RSA roots */
  rootPem: string;
  /** the CA that issues the Alipay and app certificates (its key is kept to issue the next Alipay certificate) */
  intermediate: Issuer;
  /** the CA of certificates that do not chain to the root bundle */
  rogue: Issuer;
}

/** A root bundle and the CAs under it, made now. */
export function makeCertificateSet(now = Date.now()): CertificateSet {
  const rootKey = rsaKey();
  const root = certificate({ subject: dn('Sandbox Alipay Root R1'), publicKey: rootKey, signer: rootKey, ca: true, days: 3650, now });
  const root2Key = rsaKey();
  const root2 = certificate({ subject: dn('Sandbox Alipay Root R2'), publicKey: root2Key, signer: root2Key, ca: true, days: 3650, now });
  const interKey = rsaKey();
  const interPem = certificate({ subject: dn('Sandbox Alipay Class 2 R1'), publicKey: interKey, issuer: { certPem: root, key: rootKey }, signer: rootKey, ca: true, days: 1825, now });
  return { rootPem: root + root2, intermediate: { certPem: interPem, key: interKey }, rogue: makeRogueIssuer(now) };
}

/** A CA outside any root bundle, named like the real intermediate (but for its O). */
export function makeRogueIssuer(now = Date.now()): Issuer {
  const key = rsaKey();
  return { certPem: certificate({ subject: dn('Sandbox Alipay Class 2 R1', 'Not Alipay'), publicKey: key, signer: key, ca: true, days: 1825, now }), key };
}

/** A leaf certificate for `key` (its public half goes in), issued by `issuer`: the file is the leaf then the issuer. */
export function issueLeaf(issuer: Issuer, key: KeyObject, cn: string, o: { days?: number; now?: number; org?: string } = {}): Leaf {
  const now = o.now ?? Date.now();
  const pem = certificate({ subject: dn(cn, o.org ?? 'Sandbox Merchant', 'Alipay Open Platform'), publicKey: key, issuer, signer: issuer.key, ca: false, days: o.days ?? 365, now });
  return { chainPem: pem + issuer.certPem, key };
}

/** A fresh key and an Alipay certificate for it, from `issuer`. */
export function newAlipayCertificate(issuer: Issuer, o: { days?: number; now?: number } = {}): Leaf {
  return issueLeaf(issuer, rsaKey(), 'Sandbox Alipay Signing Certificate', { ...o, org: 'Sandbox Alipay' });
}
