import { sign as rsaSign, verify as rsaVerify, type KeyObject } from 'node:crypto';

export type SignType = 'RSA2' | 'RSA';

const HASH: Record<SignType, string> = { RSA2: 'sha256', RSA: 'sha1' };

export function isSignType(v: string): v is SignType {
  return v === 'RSA2' || v === 'RSA';
}

/**
 * The canonical string Alipay signs: every parameter actually sent except `sign`, empty values left out, sorted
 * by key in ascending byte order, joined as raw (not URL-encoded) `key=value` pairs with `&`.
 */
export function signString(params: Readonly<Record<string, string | undefined>>): string {
  const keys = Object.keys(params).filter((k) => k !== 'sign' && params[k] !== undefined && params[k] !== '');
  // Keys are ASCII in this protocol, so code-unit order (the default sort) is byte order.
  keys.sort();
  let out = '';
  for (const k of keys) {
    if (out) out += '&';
    out += k + '=' + params[k];
  }
  return out;
}

export function signText(text: string, key: KeyObject, signType: SignType = 'RSA2'): string {
  return rsaSign(HASH[signType], Buffer.from(text, 'utf8'), key).toString('base64');
}

export function verifyText(text: string, signature: string, key: KeyObject, signType: SignType = 'RSA2'): boolean {
  return verifyBytes(Buffer.from(text, 'utf8'), signature, key, signType);
}

/** Verify a signature over exact bytes (RSA2 = SHA256withRSA, RSA = SHA1withRSA). */
export function verifyBytes(bytes: Uint8Array, signature: string, key: KeyObject, signType: SignType = 'RSA2'): boolean {
  if (!signature) return false;
  try {
    return rsaVerify(HASH[signType], bytes, key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export function signParams(params: Readonly<Record<string, string | undefined>>, key: KeyObject, signType: SignType = 'RSA2'): string {
  return signText(signString(params), key, signType);
}

/** Beijing is UTC+8 all year (no daylight saving), so a fixed offset is exact whatever the host's TZ. */
const BEIJING_OFFSET_MS = 8 * 3600 * 1000;

function pad(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** `yyyy-MM-dd HH:mm:ss` in Beijing time. The official Node and Python SDKs use host-local time instead. */
export function beijingTimestamp(epochMs: number): string {
  const d = new Date(epochMs + BEIJING_OFFSET_MS);
  return (
    d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' +
    pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds())
  );
}

/** Parse a Beijing `yyyy-MM-dd HH:mm:ss` back to epoch ms, or NaN. */
export function parseBeijingTimestamp(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return NaN;
  return ms - BEIJING_OFFSET_MS;
}
