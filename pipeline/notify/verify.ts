/**
 * Checking an asynchronous notification from Alipay (alipay-protocol.md, "Asynchronous notifications").
 * Alipay POSTs a form to the merchant's notify_url and signs its fields. The signed string is built the way the
 * official SDKs check it (alipay-sdk-java AlipaySignature.rsaCheckV1/V2, alipay-sdk for Node checkNotifySign):
 *
 * - every field but `sign` (V2), or every field but `sign` and `sign_type` (V1), is in it;
 * - a field with an EMPTY value stays in, as `k=` (neither SDK drops empty values: Java appends `key=value`
 *   for every key left in the map, Node filters on the key, not the value);
 * - sorted by key (UTF-16 code units, as Java's String order and JavaScript's default sort), raw `k=v` joined
 *   with `&`, never URL-encoded.
 *
 * V1 (without `sign_type`) is tried first, as dut_user_sign is signed; then V2 with `sign_type` included when
 * the form carries one (some interfaces sign it). Node's checkNotifySign also tries a V2 string carrying
 * `sign_type=RSA2` when the form has no sign_type at all; nothing Alipay sends needs that, so it is not tried.
 *
 * The string is verified as bytes in the form's declared `charset` (Java's rsaCheck turns it into bytes with the
 * charset it is given), and as UTF-8 too when that differs (the Node SDK always uses UTF-8): both are Alipay's
 * signature over the same decoded fields. The form must be decoded exactly once, by its charset: see
 * decodeNotificationBody.
 */
import { verify as rsaVerify, type KeyObject } from 'node:crypto';
import iconv from 'iconv-lite';
import { isSignType, type SignType } from '../alipay/sign.js';

export interface NotificationCheck {
  ok: boolean;
  /** why it failed; never contains field values (a notification carries a person's account) */
  reason?: string;
}

const HASH: Record<SignType, string> = { RSA2: 'sha256', RSA: 'sha1' };

/** The content the SDKs verify: every key but the excluded ones, sorted, `k=v` joined by `&`, empty values kept. */
export function notificationSignContent(form: Readonly<Record<string, string>>, exclude: ReadonlySet<string>): string {
  const keys = Object.keys(form).filter((k) => !exclude.has(k));
  keys.sort();
  return keys.map((k) => `${k}=${form[k]}`).join('&');
}

const V1_EXCLUDED: ReadonlySet<string> = new Set(['sign', 'sign_type']);
const V2_EXCLUDED: ReadonlySet<string> = new Set(['sign']);

/** The charset a form declares, normalised for iconv ('' or absent means UTF-8), or null when iconv does not know it. */
export function formCharset(declared: string | undefined): string | null {
  const name = (declared ?? '').trim();
  if (name === '') return 'utf8';
  return iconv.encodingExists(name) ? name : null;
}

function isUtf8(charset: string): boolean {
  return /^utf-?8$/i.test(charset);
}

function verifyBytes(content: string, charset: string, signature: Buffer, key: KeyObject, signType: SignType): boolean {
  const tries = [iconv.encode(content, charset)];
  if (!isUtf8(charset)) tries.push(Buffer.from(content, 'utf8'));
  for (const bytes of tries) {
    try {
      if (rsaVerify(HASH[signType], bytes, key, signature)) return true;
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * Verify a decoded notification form with the Alipay public key. A missing or empty `sign_type` means RSA2, as
 * Alipay defaults to it; a notification that does not verify must be answered with something other than
 * `success` so that Alipay sends it again, and must not change anything.
 */
export function verifyNotification(form: Readonly<Record<string, string>>, alipayPublicKey: KeyObject): NotificationCheck {
  const sign = form['sign'];
  if (!sign) return { ok: false, reason: 'the notification carries no sign' };
  const declared = form['sign_type'] ?? '';
  if (declared !== '' && !isSignType(declared)) {
    return { ok: false, reason: `unsupported sign_type ${JSON.stringify(declared.slice(0, 20))} (expected RSA2 or RSA)` };
  }
  const charset = formCharset(form['charset']);
  if (charset === null) {
    return { ok: false, reason: `unsupported charset ${JSON.stringify((form['charset'] ?? '').slice(0, 20))}` };
  }
  const signType: SignType = declared === '' ? 'RSA2' : declared;
  const signature = Buffer.from(sign, 'base64');
  if (verifyBytes(notificationSignContent(form, V1_EXCLUDED), charset, signature, alipayPublicKey, signType)) return { ok: true };
  if (Object.hasOwn(form, 'sign_type') && verifyBytes(notificationSignContent(form, V2_EXCLUDED), charset, signature, alipayPublicKey, signType)) {
    return { ok: true };
  }
  return {
    ok: false,
    reason: `the ${signType} signature does not verify with the Alipay public key (wrong key, a changed field, or a form decoded twice or by the wrong charset)`,
  };
}

/**
 * Decode an `application/x-www-form-urlencoded` body once, into field → value.
 *
 * Forms encode a space as '+', so '+' decodes to a space and a real plus arrives as %2B; URLSearchParams
 * does both and leaves a malformed escape ('%zz') as it is instead of throwing. The values it returns are
 * final: a value that contains '%' (a sign_scene, a merchant's own text) must NOT be decoded again, or it is
 * changed (or decodeURIComponent throws) and the signature no longer matches what Alipay signed.
 *
 * A field that appears twice keeps its last value. That is safe because the same object is then verified
 * and used: a value that was not signed cannot pass verification by being repeated.
 *
 * This reads the escapes as UTF-8: for a body as received, use decodeNotificationBody, which honours `charset`.
 */
export function parseNotificationBody(body: string): Record<string, string> {
  // fromEntries defines own properties, so a field named "__proto__" is just a field, not a prototype change.
  return Object.fromEntries(new URLSearchParams(body));
}

export type DecodedBody = { ok: true; form: Record<string, string>; charset: string } | { ok: false; reason: string };

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** The bytes of one form component: '+' is a space, %XX a byte, a malformed escape stays as it is (as URLSearchParams). */
function unescapeBytes(raw: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = raw[i]!;
    if (c === 0x2b /* + */) {
      out[n++] = 0x20;
    } else if (c === 0x25 /* % */ && i + 2 < end && hexValue(raw[i + 1]!) >= 0 && hexValue(raw[i + 2]!) >= 0) {
      out[n++] = hexValue(raw[i + 1]!) * 16 + hexValue(raw[i + 2]!);
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

/** A value that starts with the bytes of a BOM keeps them: they are part of what was signed. */
const NO_BOM = { stripBOM: false } as const;

/** `charset=…` of a Content-Type header, or undefined. */
function headerCharset(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return m ? m[1] : undefined;
}

/**
 * Decode a notification body as received (bytes) into field → value, once, by the charset it declares. Alipay
 * sends the form in the app's charset (UTF-8, GBK…) and says which in its `charset` field; the percent escapes are
 * bytes in that charset, so they are turned into bytes first and only then into text. The form's `charset` field
 * wins over the Content-Type header's; with neither, UTF-8. A charset iconv does not know is refused (the
 * caller answers `fail`): decoding by a guess would verify nothing and store garbled text.
 * Same rules as parseNotificationBody otherwise: '+' is a space, bad escapes stay, the last duplicate wins.
 */
export function decodeNotificationBody(raw: Buffer, contentType?: string): DecodedBody {
  const pairs: [Buffer, Buffer][] = [];
  let declared: string | undefined;
  let start = 0;
  while (start <= raw.length) {
    let end = raw.indexOf(0x26 /* & */, start);
    if (end === -1) end = raw.length;
    if (end > start) {
      let eq = raw.indexOf(0x3d /* = */, start);
      if (eq === -1 || eq > end) eq = end;
      const key = unescapeBytes(raw, start, eq);
      const value = eq < end ? unescapeBytes(raw, eq + 1, end) : Buffer.alloc(0);
      pairs.push([key, value]);
      // The charset's own name is ASCII in any charset Alipay uses.
      if (key.toString('latin1') === 'charset') declared = value.toString('latin1');
    }
    start = end + 1;
  }
  const name = declared !== undefined && declared.trim() !== '' ? declared : headerCharset(contentType);
  const charset = formCharset(name);
  if (charset === null) return { ok: false, reason: `unsupported charset ${JSON.stringify((name ?? '').slice(0, 20))}` };
  const form: Record<string, string> = {};
  for (const [k, v] of pairs) {
    // defineProperty, so a field named "__proto__" is just a field, not a prototype change.
    Object.defineProperty(form, iconv.decode(k, charset, NO_BOM), { value: iconv.decode(v, charset, NO_BOM), enumerable: true, writable: true, configurable: true });
  }
  return { ok: true, form, charset };
}
