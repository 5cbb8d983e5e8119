/** alipay.user.agreement.sign.effect (支付宝个人协议签约生效接口), seed 001, transcribed. */
import { alipayUserId, letterDigits, logonId, openId } from '../checks.js';
import type { ApiPage } from './types.js';

export const THIRD_PARTY_TYPES = ['PARTNER', 'MERCHANT'] as const;
/** "场景不能为空或默认值DEFAULT|DEFAULT" */
export const DEFAULT_SIGN_SCENE = 'DEFAULT|DEFAULT';

export const SIGN_EFFECT: ApiPage = {
  method: 'alipay.user.agreement.sign.effect',
  source: '001',
  request: [
    { name: 'personal_product_code', type: 'String', required: false, maxLength: 64, format: '协议产品码' },
    { name: 'alipay_user_id', type: 'String', required: false, maxLength: 32, format: '以2088开头的16位纯数字组成; 本参数与alipay_logon_id不可同时为空', check: alipayUserId },
    // Not on the seed page: the official SDK model (alipay-sdk-java-all AlipayUserAgreementSignEffectModel) has it, worded like alipay_user_id.
    // No length is given there; 128 is what Alipay's pages give open ids elsewhere (buyer_open_id and the like).
    { name: 'alipay_open_id', type: 'String', required: false, maxLength: 128, format: '本参数与alipay_logon_id不可同时为空,若都填写,则以本参数为准', check: openId },
    { name: 'alipay_logon_id', type: 'String', required: false, maxLength: 100, format: '支持邮箱或手机号码格式', check: logonId },
    { name: 'sign_scene', type: 'String', required: false, maxLength: 64, format: '当传入商户签约号external_sign_no时,场景不能为空或默认值DEFAULT|DEFAULT' },
    { name: 'external_agreement_no', type: 'String', required: false, maxLength: 32, format: '支持大写小写字母和数字,最长32位', check: letterDigits },
    { name: 'third_party_type', type: 'String', required: false, maxLength: 32, enum: THIRD_PARTY_TYPES, format: 'PARTNER / MERCHANT, 默认为PARTNER' },
    { name: 'agreement_no', type: 'String', required: false, maxLength: 64, format: '如果传了该参数,其他参数会被忽略' },
  ],
  response: [
    'alipay_logon_id', 'valid_time', 'invalid_time', 'pricipal_type', 'principal_id', 'sign_time', 'sign_scene', 'agreement_no',
    'third_party_type', 'status', 'personal_product_code', 'external_agreement_no', 'external_logon_id', 'zm_open_id', 'device_id',
    // not on the seed page: AlipayUserAgreementSignEffectResponse of the official SDKs, for apps on OpenID
    'principal_open_id',
  ],
  errors: [
    { code: 'USER_AGREEMENT_NOT_EXIST', text: '用户协议不存在' },
    { code: 'SYSTEM_ERROR', text: '系统繁忙' },
    { code: 'PRODUCT_CODE_NOT_SUPPORTED_ERROR', text: '无效的个人产品码' },
    { code: 'INVALID_PARAMETER', text: '参数有误' },
    { code: 'USER_AGREEMENT_STATUS_ABNORMAL', text: '协议状态不正常, 不允许协议生效操作.' },
    { code: 'USER_AGREEMENT_SIGN_FAIL', text: '用户协议签约生效失败' },
    { code: 'USER_AGREEMENT_PERIOD_CONFILICT', text: '协议生效周期不匹配' },
    { code: 'MAX_SIGN_COUNT_CHECK_FAIL', text: '用户最大签约次数检查失败' },
    { code: 'USER_NOT_EXIST_ERROR', text: '用户信息不存在' },
    { code: 'AUTHOREE_IS_NOT_MATCH', text: '被授权方不匹配' },
    { code: 'USER_NOT_EXSIT_ERROR', text: '用户信息不存在' },
  ],
};

/**
 * 触发通知字段 of dut_user_sign (seed 001), in the page's order, then alipay_open_id: not on the page, it is how the
 * sandbox names the user to an app on OpenID (in place of alipay_user_id, as its answers put principal_open_id in
 * place of principal_id).
 */
export const SIGN_NOTIFY_FIELDS = [
  'app_id', 'auth_app_id', 'external_agreement_no', 'agreement_no', 'personal_product_code', 'valid_time', 'invalid_time',
  'alipay_logon_id', 'notify_type', 'sign_scene', 'sign_time', 'alipay_user_id', 'status', 'external_logon_id', 'device_id',
  'forex_eligible', 'zm_open_id', 'alipay_open_id',
] as const;
