/**
 * Certificate serial numbers as Alipay names certificates (certificate mode, 公钥证书): `app_cert_sn` and
 * `alipay_cert_sn` are the lowercase hex MD5 of the issuer's name in RFC 2253 form followed by the serial number in
 * decimal, as the Java SDK computes them (AntCertificationUtil.getCertSN: `X500Principal.getName()` +
 * `getSerialNumber()`); `alipay_root_cert_sn` joins with `_` those of the RSA-signed certificates of the root
 * bundle (signature OID 1.2.840.113549.1.1.*), in file order, skipping the ECC and SM2 ones.
 *
 * The RFC 2253 form is Java's: the RDNs last to first, joined by `,`; attributes of one RDN joined by `+`; the
 * keywords CN, C, L, ST, O, OU, STREET, DC, UID, any other type as its dotted OID with the value as `#` + hex of
 * its DER; `,+"\<>;` escaped with `\`, as are a leading `#` and leading or trailing spaces. The Node SDK writes
 * the same for the names Alipay's certificates have (C, O, OU, CN); test/cert-sn.test.ts checks both agree.
 */
import { createHash } from 'node:crypto';
import { certificateFields, type NameAttribute } from './der.js';

const KEYWORDS: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU',
  '2.5.4.9': 'STREET', '0.9.2342.19200300.100.1.25': 'DC', '0.9.2342.19200300.100.1.1': 'UID',
};

/** RSA signature algorithms (sha1WithRSA, sha256WithRSA…): the root certificates that count (a prefix, as both SDKs test it). */
export const RSA_SIGNATURE_OID_PREFIX = '1.2.840.113549.1.1';

function escapeValue(text: string): string {
  let out = '';
  for (const c of text) {
    if (',+"\\<>;'.includes(c)) out += '\\' + c;
    else if (c === '\u0000') out += '\\00';
    else out += c;
  }
  if (out.startsWith('#')) out = '\\' + out;
  // leading and trailing spaces are escaped one by one
  const lead = /^ +/.exec(out)?.[0].length ?? 0;
  const trail = out.length > lead ? (/ +$/.exec(out)?.[0].length ?? 0) : 0;
  return '\\ '.repeat(lead) + out.slice(lead, out.length - trail) + '\\ '.repeat(trail);
}

function attributeText(a: NameAttribute): string {
  const keyword = KEYWORDS[a.oid];
  if (!keyword || a.text === undefined) return `${a.oid}=#${Buffer.from(a.der).toString('hex')}`;
  return `${keyword}=${escapeValue(a.text)}`;
}

/** A name in the RFC 2253 form of Java's X500Principal.getName(). */
export function rfc2253(name: readonly (readonly NameAttribute[])[]): string {
  return [...name].reverse().map((rdn) => rdn.map(attributeText).join('+')).join(',');
}

/** The DER of every certificate in a PEM text, in file order. */
export function pemCertificates(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
    out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  }
  return out;
}

/** The SN of one certificate (DER): MD5(issuer in RFC 2253 + decimal serial), 32 lowercase hex digits. */
export function certSn(der: Uint8Array): string {
  const f = certificateFields(der);
  return createHash('md5').update(rfc2253(f.issuer) + f.serial, 'utf8').digest('hex');
}

/** alipay_root_cert_sn of a root bundle (PEM): the SNs of its RSA-signed certificates joined with `_`; '' if none. */
export function rootCertSn(pem: string): string {
  return pemCertificates(pem)
    .filter((der) => certificateFields(der).signatureOid.startsWith(RSA_SIGNATURE_OID_PREFIX))
    .map(certSn)
    .join('_');
}
