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
    // 10000 only says the gateway took the call; biz_success says whether the contract was accepted.
    rowFailure: (fields) =>
      fields.biz_success === true || fields.biz_success === 'true' ? null : `biz_success is ${JSON.stringify(fields.biz_success ?? null)}: Alipay did not accept the contract`,
    meanings: {
      INVALID_PARAMETER: 'a parameter is wrong (参数有误): fix the row and upload it again',
    },
  },
  'alipay.user.agreement.sign.effect': {
    transientSubCodes: ['SYSTEM_ERROR'],
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
