/**
 * Just enough DER to read what Alipay's certificate serial numbers are made of: a certificate's serial number, its
 * issuer's name (each attribute's type, ASN.1 string type and value, in the order encoded) and its signature
 * algorithm. node:crypto's X509Certificate parses certificates but shows the issuer only as OpenSSL prints it, and
 * not the signature algorithm on Node 20; the serial numbers must be computed from the exact attributes.
 */

export interface Tlv {
  tag: number;
  /** where the value starts and ends (end exclusive) */
  start: number;
  end: number;
  /** where the whole element (tag and length included) starts */
  at: number;
}

export class DerError extends Error {}

export function readTlv(buf: Uint8Array, at: number): Tlv {
  if (at + 2 > buf.length) throw new DerError('truncated element');
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) throw new DerError('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > buf.length) throw new DerError('element longer than its container');
  return { tag, start, end, at };
}

/** The elements inside a constructed element. */
export function childrenOf(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const t = readTlv(buf, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

export function oidText(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== 0x06) throw new DerError('expected an OBJECT IDENTIFIER');
  const parts: number[] = [];
  let n = 0;
  for (let i = t.start; i < t.end; i++) {
    n = n * 128 + (buf[i]! & 0x7f);
    if (!(buf[i]! & 0x80)) {
      if (parts.length === 0) parts.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80);
      else parts.push(n);
      n = 0;
    }
  }
  return parts.join('.');
}

/** An INTEGER as a signed decimal (two's complement), as Java's BigInteger prints it. */
export function integerText(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== 0x02 || t.end === t.start) throw new DerError('expected an INTEGER');
  let v = 0n;
  for (let i = t.start; i < t.end; i++) v = (v << 8n) | BigInt(buf[i]!);
  if (buf[t.start]! & 0x80) v -= 1n << BigInt(8 * (t.end - t.start));
  return v.toString(10);
}

export interface NameAttribute {
  oid: string;
  /** the value's ASN.1 tag (0x0c UTF8String, 0x13 PrintableString, 0x16 IA5String, 0x1e BMPString…) */
  tag: number;
  /** the value's text where it is a string type, else undefined */
  text: string | undefined;
  /** the value's whole DER encoding (tag, length and content) */
  der: Uint8Array;
}

function stringValue(buf: Uint8Array, t: Tlv): string | undefined {
  const bytes = buf.subarray(t.start, t.end);
  switch (t.tag) {
    case 0x0c: // UTF8String
      return Buffer.from(bytes).toString('utf8');
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x1b: // GeneralString
      return Buffer.from(bytes).toString('latin1');
    case 0x14: // TeletexString (T61), read as Latin-1 like Java
      return Buffer.from(bytes).toString('latin1');
    case 0x1e: // BMPString: UTF-16 big-endian
      return Buffer.from(bytes).swap16().toString('utf16le');
    default:
      return undefined;
  }
}

/** A Name: its RDNs in encoded order, each a list of attributes. */
export function readName(buf: Uint8Array, t: Tlv): NameAttribute[][] {
  if (t.tag !== 0x30) throw new DerError('expected a Name');
  return childrenOf(buf, t).map((rdn) => {
    if (rdn.tag !== 0x31) throw new DerError('expected a RelativeDistinguishedName');
    return childrenOf(buf, rdn).map((ava) => {
      const [type, value] = childrenOf(buf, ava);
      if (!type || !value) throw new DerError('expected an AttributeTypeAndValue');
      return { oid: oidText(buf, type), tag: value.tag, text: stringValue(buf, value), der: buf.subarray(value.at, value.end) };
    });
  });
}

export interface CertificateFields {
  /** the serial number in decimal */
  serial: string;
  issuer: NameAttribute[][];
  /** the OID of the algorithm the issuer signed it with (1.2.840.113549.1.1.* is RSA) */
  signatureOid: string;
}

/** The fields of a DER certificate that its serial number is computed from. Throws DerError on anything else. */
export function certificateFields(der: Uint8Array): CertificateFields {
  const cert = readTlv(der, 0);
  const [tbs, sigAlg] = childrenOf(der, cert);
  if (cert.tag !== 0x30 || !tbs || !sigAlg) throw new DerError('not a certificate');
  const fields = childrenOf(der, tbs);
  // an explicit [0] version comes first in v2/v3 certificates
  const i = fields[0]?.tag === 0xa0 ? 1 : 0;
  const [serial, , issuer] = fields.slice(i);
  const algOid = childrenOf(der, sigAlg)[0];
  if (!serial || !issuer || !algOid) throw new DerError('not a certificate');
  return { serial: integerText(der, serial), issuer: readName(der, issuer), signatureOid: oidText(der, algOid) };
}
