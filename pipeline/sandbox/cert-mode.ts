/**
 * The gateway's side of certificate mode (公钥证书), from its own reading of the protocol (alipay-protocol.md,
 * "Certificate mode"), with its own certificate parser (node-forge), never the client's: a certificate's SN is the
 * lowercase hex MD5 of its issuer's name written `CN=…,OU=…,O=…,C=…` (the attributes last to first) followed by its
 * serial number in decimal; the root SN joins those of the bundle's RSA-signed certificates with `_`.
 *
 * It knows the app's certificate and the root bundle (requests must name both), signs answers with its current
 * Alipay certificate and names it in `alipay_cert_sn`, hands out every certificate it ever signed with on
 * alipay.open.app.alipaycert.download, and rotates: to a new certificate under the same root, or (to test a
 * client's trust) to one that does not chain to it.
 */
import { createHash, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { newAlipayCertificate, type CertificateSet, type Leaf } from './cert-maker.js';

const RSA_SIGNED = '1.2.840.113549.1.1';

/** The SN of the first certificate of a PEM text, as the gateway reads it. */
export function sandboxCertSn(pem: string): string {
  const cert = forge.pki.certificateFromPem(pem);
  const issuer = [...cert.issuer.attributes].reverse().map((a) => `${a.shortName ?? a.type}=${String(a.value)}`).join(',');
  const serial = BigInt('0x' + cert.serialNumber).toString(10);
  return createHash('md5').update(issuer + serial, 'utf8').digest('hex');
}

/** alipay_root_cert_sn of a bundle, as the gateway reads it. */
export function sandboxRootSn(bundle: string): string {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks
    .filter((b) => (forge.pki.certificateFromPem(b).siginfo.algorithmOid ?? '').startsWith(RSA_SIGNED))
    .map(sandboxCertSn)
    .join('_');
}

export interface SandboxCertFiles {
  set: CertificateSet;
  /** the app certificate file's text (appCertPublicKey_<app id>.crt) */
  appCertPem: string;
  /** the first Alipay certificate and its key */
  alipay: Leaf;
}

export class SandboxCertMode {
  readonly appCertSn: string;
  readonly rootCertSn: string;
  /** every Alipay certificate it signed with, by SN (what alipaycert.download hands out) */
  private readonly issued = new Map<string, Leaf>();
  private current: { sn: string; leaf: Leaf };
  /** rotations so far */
  rotations = 0;

  constructor(private readonly files: SandboxCertFiles) {
    this.appCertSn = sandboxCertSn(files.appCertPem);
    this.rootCertSn = sandboxRootSn(files.set.rootPem);
    this.current = this.add(files.alipay);
  }

  private add(leaf: Leaf): { sn: string; leaf: Leaf } {
    const sn = sandboxCertSn(leaf.chainPem);
    this.issued.set(sn, leaf);
    return { sn, leaf };
  }

  /** the SN answers name and the key they are signed with */
  get signer(): { sn: string; key: KeyObject } {
    return { sn: this.current.sn, key: this.current.leaf.key };
  }

  /** The certificate file of an SN it signed with, or undefined. */
  certificateOf(sn: string): string | undefined {
    return this.issued.get(sn)?.chainPem;
  }

  /**
   * Sign with a new Alipay certificate from now on: `next` is issued under the root bundle (what Alipay does);
   * `untrusted` by a CA outside it (what a forger, or a gateway that is not Alipay, would do).
   */
  rotate(to: 'next' | 'untrusted' = 'next'): string {
    const issuer = to === 'next' ? this.files.set.intermediate : this.files.set.rogue;
    this.current = this.add(newAlipayCertificate(issuer));
    this.rotations++;
    return this.current.sn;
  }
}
