/**
 * The sandbox's side of asynchronous notifications: build, sign and POST them the way Alipay does, so the
 * merchant's notify handling (pipeline/notify/verify.ts) can be tested against something real.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { beijingTimestamp, signString, signText, type SignType } from '../alipay/sign.js';
import { maskLogon as maskLogonId } from './mask.js';
import type { AgreementRecord } from './methods/agreements.js';

/**
 * Add notify_id, notify_time (Beijing), sign_type and sign. The signature covers every field but `sign` and
 * `sign_type`, empty values left out, as Alipay signs notifications. Empty fields are also left out of the
 * form itself: Alipay does not send them, and a verifier that keeps `k=` (the official Node SDK does) would
 * otherwise check a different string. A notify_id or notify_time already present is kept, because a resent
 * notification carries the same notify_id (that is what lets the receiver spot it as a repeat).
 */
export function signNotification(
  fields: Readonly<Record<string, string>>,
  alipayPrivateKey: KeyObject,
  signType: SignType = 'RSA2',
  now: number = Date.now(),
): Record<string, string> {
  const form: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k !== 'sign' && k !== 'sign_type' && v !== '') form[k] = v;
  }
  form['notify_id'] ||= randomBytes(16).toString('hex');
  form['notify_time'] ||= beijingTimestamp(now);
  const sign = signText(signString(form), alipayPrivateKey, signType);
  return { ...form, sign_type: signType, sign };
}

export interface SendOptions {
  dispatcher?: Dispatcher;
  /** Alipay gives a notify_url a few seconds; a slow receiver counts as a failure and gets a resend */
  timeoutMs?: number;
}

/**
 * POST a notification form to a notify_url. Only the status and body are returned: whether the receiver
 * took it is for the caller to judge (Alipay counts exactly the body `success` as taken, and resends otherwise).
 */
export async function sendNotification(
  url: string,
  form: Readonly<Record<string, string>>,
  options: SendOptions = {},
): Promise<{ status: number; body: string }> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
    // URLSearchParams encodes a space as '+' and a real '+' as %2B, as a browser form would.
    body: new URLSearchParams(form).toString(),
    // One-off posts to a merchant's server: close the connection rather than keep a pool open for it.
    reset: true,
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  });
  return { status: res.statusCode, body: await res.body.text() };
}

/** How a notification names the user: by user id, or by open id for an app on OpenID (behaviour openId). */
export interface NoticeOptions {
  authAppId?: string;
  openIdApp?: boolean;
}

/**
 * The fields of a dut_user_sign notification (seed 001, 触发通知字段) for an agreement that became NORMAL, in
 * the seed's order. The logon id is masked, as Alipay sends it. `authAppId` is the merchant's app, which differs
 * from `appId` only when a third-party (ISV) app acts for the merchant. An app on OpenID is told alipay_open_id
 * where the page has alipay_user_id (pages/sign-effect.ts, SIGN_NOTIFY_FIELDS).
 */
export function dutUserSignNotification(agreement: AgreementRecord, appId: string, o: NoticeOptions = {}): Record<string, string> {
  const authAppId = o.authAppId ?? appId;
  const fields: Record<string, string> = { notify_type: 'dut_user_sign', app_id: appId, auth_app_id: authAppId };
  if (agreement.external_agreement_no) fields['external_agreement_no'] = agreement.external_agreement_no;
  fields['agreement_no'] = agreement.agreement_no;
  fields['personal_product_code'] = agreement.personal_product_code;
  fields['valid_time'] = agreement.valid_time;
  fields['invalid_time'] = agreement.invalid_time;
  if (agreement.alipay_logon_id) fields['alipay_logon_id'] = maskLogonId(agreement.alipay_logon_id);
  fields['sign_scene'] = agreement.sign_scene;
  fields['sign_time'] = agreement.sign_time;
  if (!o.openIdApp && agreement.alipay_user_id) fields['alipay_user_id'] = agreement.alipay_user_id;
  fields['status'] = agreement.status;
  if (agreement.external_logon_id) fields['external_logon_id'] = agreement.external_logon_id;
  if (o.openIdApp && agreement.alipay_open_id) fields['alipay_open_id'] = agreement.alipay_open_id;
  return fields;
}

/**
 * A dut_user_unsign notification: the user cancelled the agreement (解约). The same fields as dut_user_sign, with
 * status UNSIGN, invalid_time the moment of the cancellation and unsign_time beside it.
 */
export function dutUserUnsignNotification(agreement: AgreementRecord, appId: string, o: NoticeOptions = {}): Record<string, string> {
  const fields = dutUserSignNotification({ ...agreement, status: 'UNSIGN' }, appId, o);
  fields['notify_type'] = 'dut_user_unsign';
  if (agreement.unsign_time) fields['unsign_time'] = agreement.unsign_time;
  return fields;
}

export type NoticeType = 'sign' | 'unsign';

/**
 * The whole form of a notification as the gateway sends it, before signing: the page's 触发通知字段 and the common
 * notification fields Alipay adds (charset, version; notify_id, notify_time, sign_type and sign come from
 * signNotification). `notifyTime` dates the notice: an older notice sent after a newer one carries its own, older time.
 */
export function notificationFields(
  type: NoticeType, agreement: AgreementRecord, appId: string, notifyTime?: string, openIdApp = false,
): Record<string, string> {
  const o = { openIdApp };
  const fields = type === 'sign' ? dutUserSignNotification(agreement, appId, o) : dutUserUnsignNotification(agreement, appId, o);
  const form: Record<string, string> = { ...fields, charset: 'utf-8', version: '1.0' };
  if (notifyTime) form['notify_time'] = notifyTime;
  return form;
}
