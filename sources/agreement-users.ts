/**
 * How a row of the agreement datasets names its Alipay user: `alipay_user_id` (the 2088… user id),
 * `alipay_open_id` (the user's id within one app, for apps on OpenID) or `alipay_logon_id` (an email or mobile
 * number: personal). The seeds (001, 002) list the user id and the logon id; the open id is the official SDKs'
 * (alipay-sdk-java-all AlipayUserAgreementSignEffectModel, AlipayUserAgreementBatchQueryModel,
 * AlipayUserAgreementQueryModel), worded there like the user id: "本参数与alipay_logon_id不可同时为空，若都填写，则以本参数为准，
 * 优先级高于alipay_logon_id".
 *
 * Precedence, as those models document it: the user id and the open id each win over the logon id. They rank
 * neither above the other, and an app names users one way only (an app on OpenID gets open ids, and Alipay does
 * not know its users by user id; one that is not cannot use open ids), so a row that gives both is refused: it is
 * a mixed-up export, and sending it would leave Alipay to pick.
 *
 * Alipay's user ids are "以2088开头的16位纯数字", but Alipay has announced longer ones ("userid 会进行升位扩展"), so a
 * user id is 2088 and digits up to the field's 最大长度 (32), never fewer than the 16 it has today.
 */
import type { FieldError, FieldSpec } from './dataset.js';
import { safeCellsFor, type FieldValues } from './fields.js';
import { maskPhone } from './mask.js';

/** The user-naming columns, in the order of precedence (the logon id last). */
export const USER_COLUMNS = ['alipay_user_id', 'alipay_open_id', 'alipay_logon_id'] as const;

/** The fields' 最大长度: the user id's is the pages' 32; the open id's is Alipay's usual 128 for open ids (no seed has it). */
export const USER_ID_MAX = 32;
export const OPEN_ID_MAX = 128;

function isAsciiDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isDigits(value: string, from: number): boolean {
  for (let i = from; i < value.length; i++) if (!isAsciiDigit(value.charCodeAt(i))) return false;
  return true;
}

/** 2088, then digits: 16 characters today, up to 32 (the field's 最大长度). The value is never echoed. */
export function checkAlipayUserId(value: string): string | null {
  const shape = value.length >= 16 && value.startsWith('2088') && isDigits(value, 4);
  // too long but of the right shape: the length check of the field table says so
  return shape ? null : 'must be 2088 followed by digits, 16 to 32 in all (an open id goes in alipay_open_id)';
}
checkAlipayUserId.rule = '2088 followed by digits, 16 to 32 in all';

/** 11-digit mainland mobile number: 1, then 3–9, then 9 digits (no +86, no spaces: the gateway wants the bare number). */
export function isMainlandMobile(value: string): boolean {
  if (value.length !== 11 || value.charCodeAt(0) !== 49 /* 1 */) return false;
  const second = value.charCodeAt(1);
  if (second < 51 /* 3 */ || second > 57) return false;
  return isDigits(value, 2);
}

// A plain address: one '@', no spaces, a dotted domain. Not RFC 5322: Alipay accounts are ordinary mailboxes,
// and a looser rule would let a typo (a missing '@', a trailing comma) through to the gateway.
const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/** 支付宝登录账号: "支持邮箱或手机号码格式". Personal: the reason never contains the value. */
export function checkLogonId(value: string): string | null {
  return isMainlandMobile(value) || EMAIL.test(value) ? null : 'must be an email address or an 11-digit mainland mobile number';
}
checkLogonId.rule = 'an email address or an 11-digit mainland mobile number';

/**
 * An open id (the SDK's example: 074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5). No page states its format, so
 * only what cannot be one is refused: spaces and other invisible or non-ASCII characters, and the two mix-ups a
 * wrong column makes, a 2088 user id or a logon id (named, never echoed: a logon id is personal).
 */
export function checkOpenId(value: string): string | null {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return 'may contain only visible ASCII characters (letters and digits)';
  }
  if (value.startsWith('2088') && isDigits(value, 4)) return 'is a 2088 user id: put it in alipay_user_id';
  if (checkLogonId(value) === null) return 'looks like a logon id (an email or mobile number): put it in alipay_logon_id';
  return null;
}
checkOpenId.rule = 'an open id (visible ASCII; not a 2088 user id or a logon id)';

/**
 * 'abcdef@example.com' → 'ab****@example.com', '13112345678' → '131****5678', anything else fully starred.
 * The domain stays (Alipay's own masked form does the same, and it tells which mailbox provider is meant);
 * the length is kept like the other masks, so a wrongly sized value still shows as such. A local part too
 * short to hide anything behind two kept characters keeps fewer.
 */
export function maskLogonId(value: string): string {
  const at = value.lastIndexOf('@');
  if (at > 0) {
    const local = Array.from(value.slice(0, at));
    const keep = local.length >= 4 ? 2 : local.length >= 2 ? 1 : 0;
    return local.slice(0, keep).join('') + '*'.repeat(local.length - keep) + value.slice(at);
  }
  if (isMainlandMobile(value)) return maskPhone(value);
  return '*'.repeat(Array.from(value).length);
}

/** USER_NOT_EXIST_ERROR's meaning wherever a user is named: which id, and the commonest cause with open ids. */
export const NO_SUCH_USER =
  'no such Alipay user (用户信息不存在): check alipay_user_id / alipay_open_id / alipay_logon_id (an app on OpenID knows its users by alipay_open_id only, an app that is not by alipay_user_id)';

/** The three user fields of a request table, in the seeds' order with the open id beside the user id. */
export const USER_FIELDS: readonly FieldSpec[] = Object.freeze([
  { name: 'alipay_user_id', required: false, maxLength: USER_ID_MAX, check: checkAlipayUserId },
  { name: 'alipay_open_id', required: false, maxLength: OPEN_ID_MAX, check: checkOpenId },
  { name: 'alipay_logon_id', required: false, maxLength: 100, check: checkLogonId, personal: true },
]);

/**
 * The one-of-three rule: an error (on alipay_user_id, or on alipay_open_id when both ids are given) unless the
 * row names its user exactly one way besides the logon id. A field that already has an error of its own is
 * not given a second one. `when` ends the reason ("with external_agreement_no …").
 */
export function userErrors(values: Readonly<FieldValues>, errors: FieldError[], when = ''): void {
  const add = (field: string, reason: string) => {
    if (!errors.some((e) => e.field === field)) errors.push({ field, reason });
  };
  const userId = values['alipay_user_id'];
  const openId = values['alipay_open_id'];
  if (userId !== undefined && openId !== undefined) {
    add('alipay_open_id', 'give alipay_user_id or alipay_open_id, not both: an app names its users one way (open ids on OpenID)');
  } else if (userId === undefined && openId === undefined && values['alipay_logon_id'] === undefined) {
    add('alipay_user_id', `one of alipay_user_id, alipay_open_id or alipay_logon_id is required${when}`);
  }
}

/**
 * Who a row asks about, as one string for its key: the user id, else `open:` and the open id, else `logon:` and the
 * logon id (the highest in precedence alone names the user; the prefixes keep the three apart).
 */
export function userKey(values: Readonly<FieldValues>): string {
  const userId = values['alipay_user_id'];
  if (userId !== undefined) return userId;
  const openId = values['alipay_open_id'];
  return openId !== undefined ? `open:${openId}` : `logon:${values['alipay_logon_id'] ?? ''}`;
}

/**
 * safeCells for a table with user columns: the generic masks, and the logon id's own. A valid 2088 user id stays
 * as it is even when it is 18 digits long (it is no ID number: no province code starts with 20); an open-id cell
 * holding a logon id is masked like one.
 */
export function safeAgreementCells(fields: readonly FieldSpec[], cells: Readonly<Record<string, string>>): Record<string, string> {
  const out = safeCellsFor(fields, cells);
  const logon = cells['alipay_logon_id'];
  if (typeof logon === 'string') out['alipay_logon_id'] = maskLogonId(logon);
  const userId = cells['alipay_user_id'];
  if (typeof userId === 'string' && checkAlipayUserId(userId.trim()) === null) out['alipay_user_id'] = userId;
  const openId = cells['alipay_open_id'];
  if (typeof openId === 'string' && checkLogonId(openId.trim()) === null) out['alipay_open_id'] = maskLogonId(openId.trim());
  return out;
}
