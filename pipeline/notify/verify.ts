/**
 * Checking an asynchronous notification from Alipay (alipay-protocol.md, "Asynchronous notifications").
 * Alipay POSTs a form to the merchant's notify_url and signs the fields the way it signs everything else,
 * except that `sign_type` is usually left out of the signed string: drop `sign` and `sign_type`, drop empty
 * values, sort by key, join raw `k=v` with `&`. Some interfaces sign with `sign_type` included, so that is
 * tried second. The form must be decoded exactly once: see parseNotificationBody.
 */
import type { KeyObject } from 'node:crypto';
import { isSignType, signString, verifyText } from '../alipay/sign.js';

export interface NotificationCheck {
  ok: boolean;
  /** why it failed; never contains field values (a notification carries a person's account) */
  reason?: string;
}

/**
 * Verify a decoded notification form with the Alipay public key. A missing or unknown `sign_type` means
 * RSA2, as Alipay defaults to it; a notification that does not verify must be answered with something other
 * than `success` so that Alipay sends it again, and must not change anything.
 */
export function verifyNotification(form: Readonly<Record<string, string>>, alipayPublicKey: KeyObject): NotificationCheck {
  const sign = form['sign'];
  if (!sign) return { ok: false, reason: 'the notification carries no sign' };
  const declared = form['sign_type'] ?? '';
  if (declared !== '' && !isSignType(declared)) {
    return { ok: false, reason: `unsupported sign_type ${JSON.stringify(declared.slice(0, 20))} (expected RSA2 or RSA)` };
  }
  const signType = declared === '' ? 'RSA2' : declared;
  // signString already leaves out `sign` and empty values; `sign_type` goes only in the second try.
  const rest = Object.fromEntries(Object.entries(form).filter(([k]) => k !== 'sign_type'));
  if (verifyText(signString(rest), sign, alipayPublicKey, signType)) return { ok: true };
  if (declared !== '' && verifyText(signString({ ...rest, sign_type: declared }), sign, alipayPublicKey, signType)) {
    return { ok: true };
  }
  return {
    ok: false,
    reason: `the ${signType} signature does not verify with the Alipay public key (wrong key, a changed field, or a form decoded twice)`,
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
 */
export function parseNotificationBody(body: string): Record<string, string> {
  // fromEntries defines own properties, so a field named "__proto__" is just a field, not a prototype change.
  return Object.fromEntries(new URLSearchParams(body));
}
