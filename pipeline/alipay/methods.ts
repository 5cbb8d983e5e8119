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
};

export function policyFor(method: string): MethodPolicy {
  return METHOD_POLICIES[method] ?? { transientSubCodes: ['SYSTEM_ERROR'] };
}
