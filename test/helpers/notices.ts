/**
 * Notifications built the way Alipay signs them and the official SDKs check them (AlipaySignature.rsaCheckV1 in
 * alipay-sdk-java: every field but sign and sign_type, EMPTY VALUES KEPT as `k=`, sorted, joined with '&', the
 * text turned into bytes by the form's charset), and sent as raw bytes in that charset. Independent of the code
 * under test: only node:crypto and iconv-lite.
 */
import { randomBytes, sign as rsaSign, type KeyObject } from 'node:crypto';
import iconv from 'iconv-lite';
import { request } from 'undici';

/** The V1 string: every key but sign and sign_type (V2: but sign only), sorted, `k=v` joined with '&', empties kept. */
export function javaSignContent(form: Readonly<Record<string, string>>, v2 = false): string {
  return Object.keys(form)
    .filter((k) => k !== 'sign' && (v2 || k !== 'sign_type'))
    .sort()
    .map((k) => `${k}=${form[k]}`)
    .join('&');
}

/** Sign `fields` as Alipay does (V1 unless `v2`), over the bytes of the string in `charset`; adds sign_type and sign. */
export function signAsAlipay(
  fields: Readonly<Record<string, string>>,
  key: KeyObject,
  o: { signType?: 'RSA2' | 'RSA'; charset?: string; v2?: boolean } = {},
): Record<string, string> {
  const signType = o.signType ?? 'RSA2';
  const form: Record<string, string> = { ...fields, sign_type: signType };
  const bytes = iconv.encode(javaSignContent(form, o.v2), o.charset ?? 'utf8');
  form.sign = rsaSign(signType === 'RSA2' ? 'sha256' : 'sha1', bytes, key).toString('base64');
  return form;
}

/** application/x-www-form-urlencoded bytes, every byte of keys and values in `charset` percent-encoded as a form does. */
export function formBody(form: Readonly<Record<string, string>>, charset = 'utf8'): Buffer {
  const enc = (s: string) => {
    let out = '';
    for (const b of iconv.encode(s, charset)) {
      const c = String.fromCharCode(b);
      out += /[A-Za-z0-9*\-._]/.test(c) ? c : b === 0x20 ? '+' : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
    return out;
  };
  return Buffer.from(Object.entries(form).map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&'), 'latin1');
}

/** POST raw form bytes to a receiver; status and body back. */
export async function postForm(url: string, body: Buffer, contentType = 'application/x-www-form-urlencoded'): Promise<{ status: number; body: string }> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': contentType }, body, reset: true, signal: AbortSignal.timeout(10_000) });
  return { status: res.statusCode, body: await res.body.text() };
}

export const APP_ID = '2021000000000001';

/** A dut_user_sign / dut_user_unsign notice's fields (seed 001 and a real unsign notice), before signing. */
export function notice(o: {
  agreement_no?: string;
  type?: 'dut_user_sign' | 'dut_user_unsign';
  status: string;
  notify_time: string;
  notify_id?: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  const type = o.type ?? (o.status === 'UNSIGN' ? 'dut_user_unsign' : 'dut_user_sign');
  return {
    notify_type: type,
    notify_id: o.notify_id ?? randomBytes(16).toString('hex'),
    notify_time: o.notify_time,
    charset: 'UTF-8',
    version: '1.0',
    app_id: APP_ID,
    auth_app_id: APP_ID,
    agreement_no: o.agreement_no ?? '20240501000000000001',
    external_agreement_no: 'EXT1',
    personal_product_code: 'GENERAL_WITHHOLDING_P',
    sign_scene: 'INDUSTRY|MEDICAL',
    alipay_user_id: '2088101122675263',
    alipay_logon_id: 'zh**********@example.com',
    status: o.status,
    ...o.extra,
  };
}
