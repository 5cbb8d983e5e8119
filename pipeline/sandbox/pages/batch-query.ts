/** alipay.user.agreement.batch.query (支付宝个人代扣协议批量查询接口), seed 002, transcribed. */
import { alipayUserId, logonId, openId } from '../checks.js';
import { THIRD_PARTY_TYPES } from './sign-effect.js';
import type { ApiPage } from './types.js';

export const BATCH_QUERY: ApiPage = {
  method: 'alipay.user.agreement.batch.query',
  source: '002',
  request: [
    { name: 'personal_product_code', type: 'String', required: true, maxLength: 64, format: '协议产品码' },
    { name: 'alipay_user_id', type: 'String', required: false, maxLength: 32, format: '以 2088 开头的 16 位纯数字 组成; 本参数与 alipay_logon_id 不 可同时为空', check: alipayUserId },
    // Not on the seed page: the official SDK model (alipay-sdk-java-all AlipayUserAgreementBatchQueryModel) has it, worded like alipay_user_id.
    // No length is given there; 128 is what Alipay's pages give open ids elsewhere (buyer_open_id and the like).
    { name: 'alipay_open_id', type: 'String', required: false, maxLength: 128, format: '本参数与 alipay_logon_id 不 可同时为空,若都填写,则 以本参数为准', check: openId },
    { name: 'alipay_logon_id', type: 'String', required: false, maxLength: 100, format: '支持邮箱或手机号码格式', check: logonId },
    { name: 'sign_scene', type: 'String', required: false, maxLength: 64, format: '不传默认查询所有场景' },
    { name: 'third_party_type', type: 'String', required: false, maxLength: 32, enum: THIRD_PARTY_TYPES, format: 'PARTNER / MERCHANT, 默认为PARTNER' },
    { name: 'product_code', type: 'String', required: false, maxLength: 64, format: '销售产品码' },
  ],
  response: ['usage_agreement_info_list'],
  errors: [
    { code: 'USER_NOT_EXIST_ERROR', text: '用户信息不存在' },
    { code: 'SYSTEM_ERROR', text: '系统繁忙' },
    { code: 'MERCHANT_AGREEMENT_IS_NOT_EXIST', text: '商户协议不存在' },
    { code: 'PRODUCT_CODE_NOT_SUPPORTED_ERROR', text: '无效的产品码' },
    { code: 'INVALID_PARAMETER', text: '参数有误' },
  ],
};

/**
 * One usage_agreement_info_list item (OpenApiSignQueryResponse), in the page's order, then principal_open_id (not on
 * the seed page: the SDKs' OpenApiSignQueryResponse has it, for apps on OpenID).
 */
export const BATCH_QUERY_ITEM = [
  'valid_time', 'invalid_time', 'pricipal_type', 'principal_id', 'sign_scene', 'agreement_no', 'third_party_type', 'status',
  'sign_time', 'personal_product_code', 'principal_open_id',
] as const;
