/**
 * alipay.user.agreement.query (支付宝个人代扣协议查询接口): one agreement's state. No CSV reads into it: it is
 * the read-back of a sign.effect row whose answer left the agreement's state unclear (see AGREEMENT_EFFECT_ANSWERS'
 * reconcileSubCodes). A success carries the agreement: status TEMP / NORMAL / STOP, agreement_no, valid_time,
 * invalid_time, sign_time, sign_scene, personal_product_code, principal_id or principal_open_id… (AlipayUserAgreementQueryResponse in
 * the official SDKs). Business errors per the API page.
 */
import { NO_SUCH_USER } from './agreement-users.js';
import type { GatewayMethod } from './dataset.js';

export const agreementQuery: GatewayMethod = Object.freeze({
  method: 'alipay.user.agreement.query',
  answers: Object.freeze({
    // PARENT_MERCHANT_QUERY_FAIL's documented remedy is "check the parent merchant, or retry"; a query is safe to repeat.
    transientSubCodes: Object.freeze(['PARENT_MERCHANT_QUERY_FAIL']),
    rowFailure: (fields: Record<string, unknown>) =>
      typeof fields.status === 'string' && fields.status !== '' ? null : 'the answer carries no agreement status',
    meanings: Object.freeze({
      USER_AGREEMENT_NOT_EXIST: 'no such agreement (用户协议不存在): check agreement_no, or external_agreement_no + sign_scene',
      USER_NOT_EXIST_ERROR: NO_SUCH_USER,
      USER_NOT_EXSIT_ERROR: NO_SUCH_USER,
      PRODUCT_CODE_NOT_SUPPORTED_ERROR: 'personal_product_code is not valid (无效的个人产品码)',
      INVALID_PARAMETER: 'a parameter is wrong (参数有误)',
      MERCHANT_STATUS_IS_NOT_NORMAL: 'the merchant agreement is not in a normal status (商户协议状态不正常)',
      PARENT_MERCHANT_QUERY_FAIL: 'the platform merchant could not be found (平台商户查询失败)',
      AUTHOREE_IS_NOT_MATCH: 'the agreement was granted to another app (被授权方不匹配): check --app-id',
    }),
  }),
});

/** The agreement status in a verified alipay.user.agreement.query (or sign.effect) success, or undefined. */
export function agreementStatus(fields: Record<string, unknown> | undefined): string | undefined {
  const s = fields?.status;
  return typeof s === 'string' && s !== '' ? s : undefined;
}
