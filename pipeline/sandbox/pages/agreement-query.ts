/**
 * alipay.user.agreement.query (支付宝个人代扣协议查询接口). No seed carries this page: the request fields are the
 * official SDKs' AlipayUserAgreementQueryModel, the answer's fields their AlipayUserAgreementQueryResponse (.NET
 * alipay-sdk-net-all, Python alipay-sdk-python), and the lookup rules those of Alipay's support answers: by
 * agreement_no alone ("其他业务参数均可不填"), or personal_product_code + sign_scene + external_agreement_no, or
 * personal_product_code + alipay_user_id / alipay_open_id / alipay_logon_id (with sign_scene). An agreement that cannot be found
 * is USER_AGREEMENT_NOT_EXIST (用户协议不存在), as for sign.effect.
 */
import { alipayUserId, letterDigits, logonId, openId } from '../checks.js';
import { THIRD_PARTY_TYPES } from './sign-effect.js';
import type { ApiPage } from './types.js';

export const AGREEMENT_QUERY: ApiPage = {
  method: 'alipay.user.agreement.query',
  source: '',
  request: [
    { name: 'personal_product_code', type: 'String', required: false, maxLength: 64, format: '协议产品码' },
    { name: 'alipay_user_id', type: 'String', required: false, maxLength: 32, format: '以2088开头的16位纯数字', check: alipayUserId },
    { name: 'alipay_open_id', type: 'String', required: false, maxLength: 128, format: '本参数与alipay_logon_id若都填写,则以本参数为准', check: openId },
    { name: 'alipay_logon_id', type: 'String', required: false, maxLength: 100, format: '支持邮箱或手机号码格式', check: logonId },
    { name: 'sign_scene', type: 'String', required: false, maxLength: 64, format: '签约协议场景' },
    { name: 'external_agreement_no', type: 'String', required: false, maxLength: 32, format: '支持大写小写字母和数字,最长32位', check: letterDigits },
    { name: 'third_party_type', type: 'String', required: false, maxLength: 32, enum: THIRD_PARTY_TYPES },
    { name: 'agreement_no', type: 'String', required: false, maxLength: 64, format: '如果传了该参数,其他参数会被忽略' },
  ],
  response: [
    'agreement_no', 'alipay_logon_id', 'credit_auth_mode', 'device_id', 'external_agreement_no', 'external_logon_id', 'invalid_time',
    'last_deduct_time', 'next_deduct_time', 'personal_product_code', 'pricipal_type', 'principal_id', 'principal_open_id',
    'sign_scene', 'sign_time', 'single_quota', 'status', 'third_party_type', 'valid_time', 'zm_open_id',
  ],
  errors: [
    { code: 'USER_AGREEMENT_NOT_EXIST', text: '用户协议不存在' },
    { code: 'SYSTEM_ERROR', text: '系统繁忙' },
    { code: 'INVALID_PARAMETER', text: '参数有误' },
    { code: 'USER_NOT_EXIST_ERROR', text: '用户信息不存在' },
    { code: 'PRODUCT_CODE_NOT_SUPPORTED_ERROR', text: '无效的个人产品码' },
  ],
};
