/**
 * What the agreement methods share in reading a request: its string values, the magic user ids, and the
 * business errors for what a request names wrongly, worded from the page's error table.
 */
import type { Behaviours } from '../behaviours.js';
import { checkRequest, errorText, SIGN_EFFECT, type ApiPage } from '../pages/index.js';
import type { UserRef } from './agreement-store.js';
import { businessError, type MethodAnswer } from './types.js';

/**
 * An alipay_user_id starting with 2088000000 is a user Alipay does not know (USER_NOT_EXIST_ERROR): a magic value
 * that lets tests reach an answer real Alipay gives only in rare situations.
 */
export const UNKNOWN_USER_PREFIX = '2088000000';

export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export const fail = (page: ApiPage, code: string, detail?: string) =>
  businessError(code, detail ? `${errorText(page, code)}: ${detail}` : errorText(page, code));
export const NOT_EXIST = (page: ApiPage = SIGN_EFFECT) => fail(page, 'USER_AGREEMENT_NOT_EXIST');
export const NO_USER = (page: ApiPage = SIGN_EFFECT) => fail(page, 'USER_NOT_EXIST_ERROR');

/** A field the page's table refuses (length, listed values, format) is INVALID_PARAMETER naming the field. */
export function tableProblem(page: ApiPage, biz: Record<string, unknown>): MethodAnswer | undefined {
  const bad = checkRequest(page, biz);
  return bad ? fail(page, 'INVALID_PARAMETER', `${bad.field} ${bad.problem === 'missing' ? '不能为空' : '格式或长度非法'}`) : undefined;
}


/**
 * The user a request names, for the app's kind (behaviour openId): the SDK models rank alipay_user_id and
 * alipay_open_id each above alipay_logon_id ("若都填写,则以本参数为准"). An app on OpenID knows its users by open id
 * only, any other app by user id only: the other kind of id alone names nobody it knows (USER_NOT_EXIST_ERROR, as
 * alipay.trade.* answer ACQ.BUYER_NOT_EXIST), and given beside the right kind it is passed over. `none` when the
 * request names no user at all; a user id with the magic prefix is unknown whatever the app.
 */
export function userOf(page: ApiPage, biz: Record<string, unknown>, behaviours: Behaviours | undefined): { user: UserRef } | 'none' | MethodAnswer {
  const userId = str(biz.alipay_user_id);
  const openId = str(biz.alipay_open_id);
  const logonId = str(biz.alipay_logon_id);
  if (userId?.startsWith(UNKNOWN_USER_PREFIX)) return NO_USER(page);
  const openIdApp = behaviours?.openId === true;
  const own = openIdApp ? openId : userId;
  if (own !== undefined) return { user: openIdApp ? { openId: own } : { userId: own } };
  if ((openIdApp ? userId : openId) !== undefined) return NO_USER(page);
  return logonId !== undefined ? { user: { logonId } } : 'none';
}
