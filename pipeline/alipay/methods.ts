import type { MethodPolicy } from './classify.js';

/**
 * What each method's answers mean beyond the common protocol, from the seeds' 业务错误码 tables. A method
 * not listed here gets the default: SYSTEM_ERROR is transient, every other business code fails the row.
 */
export const METHOD_POLICIES: Readonly<Record<string, MethodPolicy>> = {
  'zhima.merchant.borrow.entity.upload': {
    transientSubCodes: ['SYSTEM_ERROR'],
    meanings: {
      NULL_ARGUMENT: 'a required parameter is empty (参数为空)',
      ILLEGAL_ARGUMENT: 'a parameter has an illegal format or length (参数格式或者长度非法)',
      CATEGORY_CODE_ILLEGAL: 'category_code is not one Alipay accepts (类目code参数非法)',
      INFOSEC_VERIFY_FAILED: 'Alipay found sensitive content in the text (信息含敏感内容): edit entity_name/address_desc/rent_desc',
    },
  },
  'alipay.ins.scene.contract.workersaas.upload': {
    transientSubCodes: ['SYSTEM_ERROR'],
    // The official SDKs' response class for this method declares no fields: a 10000 is the acceptance, and
    // biz_success is often absent. Only an explicit false (boolean or string) fails the contract.
    rowFailure: (fields) =>
      fields.biz_success === false || (typeof fields.biz_success === 'string' && fields.biz_success.trim().toLowerCase() === 'false')
        ? `biz_success is ${JSON.stringify(fields.biz_success)}: Alipay did not accept the contract`
        : null,
    meanings: {
      INVALID_PARAMETER: 'a parameter is wrong (参数有误): fix the row and upload it again',
    },
  },
  'alipay.user.agreement.sign.effect': {
    transientSubCodes: ['SYSTEM_ERROR'],
    // Both leave the agreement's real state unclear: an earlier attempt whose answer was lost may already have
    // made it effective. The caller reads it back with alipay.user.agreement.query before recording the row.
    reconcileSubCodes: {
      USER_AGREEMENT_STATUS_ABNORMAL:
        'the agreement cannot be made effective in its current status (协议状态不正常): it may already be effective, or stopped; read its state back with alipay.user.agreement.query',
      USER_AGREEMENT_PERIOD_CONFILICT:
        'an effective agreement with another period exists (协议生效周期不匹配, a concurrency case per the API page): check whether it is already effective; read its state back with alipay.user.agreement.query',
    },
    rowFailure: (fields) => (fields.status === 'NORMAL' ? null : `the agreement is ${String(fields.status ?? 'without a status')} after the call, not NORMAL`),
    meanings: {
      USER_AGREEMENT_NOT_EXIST: 'no such agreement (用户协议不存在): check agreement_no, or external_agreement_no + sign_scene',
      PRODUCT_CODE_NOT_SUPPORTED_ERROR: 'personal_product_code is not valid for this agreement (无效的个人产品码)',
      INVALID_PARAMETER: 'a parameter is wrong (参数有误)',
      USER_AGREEMENT_STATUS_ABNORMAL: 'the agreement cannot be made effective in its current status, it may be stopped (协议状态不正常)',
      USER_AGREEMENT_SIGN_FAIL: 'Alipay could not make the agreement effective (用户协议签约生效失败)',
      USER_AGREEMENT_PERIOD_CONFILICT: 'an effective agreement with another period exists (协议生效周期不匹配): check whether it is already effective, e.g. with agreements query',
      MAX_SIGN_COUNT_CHECK_FAIL: 'the user has signed this scene too many times (用户最大签约次数检查失败)',
      USER_NOT_EXIST_ERROR: 'no such Alipay user (用户信息不存在): check alipay_user_id / alipay_logon_id',
      USER_NOT_EXSIT_ERROR: 'no such Alipay user (用户信息不存在): check alipay_user_id / alipay_logon_id',
      AUTHOREE_IS_NOT_MATCH: 'the agreement was granted to another app (被授权方不匹配): check --app-id',
    },
  },
  // Single agreement query (支付宝个人代扣协议查询接口), used to read back a row whose sign.effect answer left its
  // state unclear. A success carries the agreement: status TEMP / NORMAL / STOP, agreement_no, valid_time,
  // invalid_time, sign_time, sign_scene, personal_product_code, principal_id… (AlipayUserAgreementQueryResponse
  // in the official SDKs). Business errors per the API page.
  'alipay.user.agreement.query': {
    // PARENT_MERCHANT_QUERY_FAIL's documented remedy is "check the parent merchant, or retry"; a query is safe to repeat.
    transientSubCodes: ['SYSTEM_ERROR', 'PARENT_MERCHANT_QUERY_FAIL'],
    rowFailure: (fields) =>
      typeof fields.status === 'string' && fields.status !== '' ? null : 'the answer carries no agreement status',
    meanings: {
      USER_AGREEMENT_NOT_EXIST: 'no such agreement (用户协议不存在): check agreement_no, or external_agreement_no + sign_scene',
      USER_NOT_EXIST_ERROR: 'no such Alipay user (用户信息不存在): check alipay_user_id / alipay_logon_id',
      USER_NOT_EXSIT_ERROR: 'no such Alipay user (用户信息不存在): check alipay_user_id / alipay_logon_id',
      PRODUCT_CODE_NOT_SUPPORTED_ERROR: 'personal_product_code is not valid (无效的个人产品码)',
      INVALID_PARAMETER: 'a parameter is wrong (参数有误)',
      MERCHANT_STATUS_IS_NOT_NORMAL: 'the merchant agreement is not in a normal status (商户协议状态不正常)',
      PARENT_MERCHANT_QUERY_FAIL: 'the platform merchant could not be found (平台商户查询失败)',
      AUTHOREE_IS_NOT_MATCH: 'the agreement was granted to another app (被授权方不匹配): check --app-id',
    },
  },
  'alipay.user.agreement.batch.query': {
    transientSubCodes: ['SYSTEM_ERROR'],
    meanings: {
      USER_NOT_EXIST_ERROR: 'no such Alipay user (用户信息不存在)',
      MERCHANT_AGREEMENT_IS_NOT_EXIST: 'the merchant agreement does not exist (商户协议不存在): check personal_product_code and product_code',
      PRODUCT_CODE_NOT_SUPPORTED_ERROR: 'the product code is not valid (无效的产品码)',
    },
  },
};

export function policyFor(method: string): MethodPolicy {
  return METHOD_POLICIES[method] ?? { transientSubCodes: ['SYSTEM_ERROR'] };
}

/** The agreement status in a verified alipay.user.agreement.query (or sign.effect) success, or undefined. */
export function agreementStatus(fields: Record<string, unknown> | undefined): string | undefined {
  const s = fields?.status;
  return typeof s === 'string' && s !== '' ? s : undefined;
}
