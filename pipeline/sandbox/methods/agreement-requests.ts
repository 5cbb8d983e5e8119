/**
 * What the agreement methods share in reading a request: its string values, the magic user ids, and the
 * business errors for what a request names wrongly, worded from the page's error table.
 */
import { checkRequest, errorText, SIGN_EFFECT, type ApiPage } from '../pages/index.js';
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

