/**
 * alipay.user.agreement.sign.effect (支付宝个人协议签约生效接口): push agreements that
 * alipay.user.agreement.page.sign left in TEMP live. The field table is the seed's 请求参数 table, in its
 * order and lengths; every field is optional there, and the rules that tie them together (which fields
 * name an agreement) come from the table's 描述 column and are checked per row below.
 *
 * The user is named by alipay_user_id, alipay_open_id or alipay_logon_id, with the precedence of
 * agreement-users.ts. alipay_logon_id is a person's email or mobile number: it is masked wherever a row is shown,
 * and no validation reason ever repeats it.
 */
import type { AnswerRules, Dataset, FieldError, FieldSpec, HeaderCheck } from './dataset.js';
import { NO_SUCH_USER, safeAgreementCells, USER_FIELDS, userErrors } from './agreement-users.js';
import { buildBizContent, checkHeaderAgainst, oneOf, validateFields, type FieldValues } from './fields.js';

export {
  checkAlipayUserId, checkLogonId, checkOpenId, isMainlandMobile, maskLogonId, safeAgreementCells,
} from './agreement-users.js';

/**
 * The fields of an agreement as Alipay answers them (seed 001 响应参数), for the ledger and exports, and
 * `principal_open_id`, the principal's open id for apps on OpenID (AlipayUserAgreementSignEffectResponse in the
 * official SDKs). `pricipal_type` is Alipay's own spelling: the JSON key really is that, so it is kept.
 */
export const AGREEMENT_FIELDS = [
  'agreement_no', 'status', 'valid_time', 'invalid_time', 'sign_time', 'sign_scene', 'personal_product_code',
  'pricipal_type', 'principal_id', 'third_party_type', 'external_agreement_no', 'alipay_logon_id',
  'external_logon_id', 'zm_open_id', 'device_id', 'principal_open_id',
] as const;

/** The scene Alipay uses when none was agreed; it cannot tell one merchant agreement from another. */
export const DEFAULT_SIGN_SCENE = 'DEFAULT|DEFAULT';

/** Letters and digits only ("支持大写小写字母和数字"): the gateway refuses anything else as INVALID_PARAMETER. */
export function checkAlphanumeric(value: string): string | null {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!ok) return 'may contain only letters and digits';
  }
  return null;
}
checkAlphanumeric.rule = 'letters and digits only';

export const checkThirdPartyType = oneOf(['PARTNER', 'MERCHANT']);

/** Header check plus one alternative: a file with none of `anyOf` can have no valid row, so say so up front. */
export function checkHeaderWithAlternatives(
  fields: readonly FieldSpec[],
  columns: readonly string[],
  anyOf: readonly string[],
): HeaderCheck {
  const check = checkHeaderAgainst(fields, columns);
  if (!anyOf.some((c) => columns.includes(c))) check.missing.push(anyOf.join(' or '));
  return check;
}

const FIELDS: readonly FieldSpec[] = Object.freeze([
  { name: 'personal_product_code', required: false, maxLength: 64 },
  ...USER_FIELDS,
  { name: 'sign_scene', required: false, maxLength: 64 },
  { name: 'external_agreement_no', required: false, maxLength: 32, check: checkAlphanumeric },
  { name: 'third_party_type', required: false, maxLength: 32, check: checkThirdPartyType },
  // "如果传了该参数,其他参数会被忽略": with it the row needs nothing else, and nothing else is checked or sent.
  { name: 'agreement_no', required: false, maxLength: 64 },
]);

/**
 * Which agreement a row names without agreement_no: the merchant's external_agreement_no within a scene, for a
 * user. The page ties only the scene to the external number ("当传入商户签约号external_sign_no时,场景不能为空或默认值
 * DEFAULT|DEFAULT") and the user ids to each other ("本参数与alipay_logon_id不可同时为空"); personal_product_code is
 * "可选" and is sent only when the row has one. A field that already has an error of its own is not given a
 * second one (one reason per field, as validateFields does).
 */
function crossFieldErrors(values: Readonly<FieldValues>, errors: FieldError[]): void {
  const add = (field: string, reason: string) => {
    if (!errors.some((e) => e.field === field)) errors.push({ field, reason });
  };
  if (values['external_agreement_no'] === undefined) {
    add('agreement_no', 'name the agreement: give agreement_no, or external_agreement_no with sign_scene and alipay_user_id, alipay_open_id or alipay_logon_id');
    return;
  }
  const scene = values['sign_scene'];
  if (scene === undefined) add('sign_scene', 'required with external_agreement_no (when there is no agreement_no)');
  else if (scene === DEFAULT_SIGN_SCENE) add('sign_scene', `must not be ${DEFAULT_SIGN_SCENE} with external_agreement_no: give the scene the agreement was signed in`);
  userErrors(values, errors, ' with external_agreement_no (when there is no agreement_no)');
}

/** What the method's answers mean: the page's 业务错误码 table, and which answers leave the agreement unclear. */
export const AGREEMENT_EFFECT_ANSWERS: AnswerRules = Object.freeze({
  // Both leave the agreement's real state unclear: an earlier attempt whose answer was lost may already have
  // made it effective. The caller reads it back with alipay.user.agreement.query (agreement-query.ts) before
  // recording the row.
  reconcileSubCodes: Object.freeze({
    USER_AGREEMENT_STATUS_ABNORMAL:
      'the agreement cannot be made effective in its current status (协议状态不正常): it may already be effective, or stopped; read its state back with alipay.user.agreement.query',
    USER_AGREEMENT_PERIOD_CONFILICT:
      'an effective agreement with another period exists (协议生效周期不匹配, a concurrency case per the API page): check whether it is already effective; read its state back with alipay.user.agreement.query',
  }),
  rowFailure: (fields: Record<string, unknown>) =>
    fields.status === 'NORMAL' ? null : `the agreement is ${String(fields.status ?? 'without a status')} after the call, not NORMAL`,
  meanings: Object.freeze({
    USER_AGREEMENT_NOT_EXIST: 'no such agreement (用户协议不存在): check agreement_no, or external_agreement_no + sign_scene',
    PRODUCT_CODE_NOT_SUPPORTED_ERROR: 'personal_product_code is not valid for this agreement (无效的个人产品码)',
    INVALID_PARAMETER: 'a parameter is wrong (参数有误)',
    USER_AGREEMENT_STATUS_ABNORMAL: 'the agreement cannot be made effective in its current status, it may be stopped (协议状态不正常)',
    USER_AGREEMENT_SIGN_FAIL: 'Alipay could not make the agreement effective (用户协议签约生效失败)',
    USER_AGREEMENT_PERIOD_CONFILICT: 'an effective agreement with another period exists (协议生效周期不匹配): check whether it is already effective, e.g. with agreements query',
    MAX_SIGN_COUNT_CHECK_FAIL: 'the user has signed this scene too many times (用户最大签约次数检查失败)',
    USER_NOT_EXIST_ERROR: NO_SUCH_USER,
    USER_NOT_EXSIT_ERROR: NO_SUCH_USER,
    AUTHOREE_IS_NOT_MATCH: 'the agreement was granted to another app (被授权方不匹配): check --app-id',
  }),
});

export const agreementEffects: Dataset = {
  name: 'agreement-effects',
  // once NORMAL, done: a row already made effective is never sent again
  sendPolicy: 'once',
  method: 'alipay.user.agreement.sign.effect',
  answers: AGREEMENT_EFFECT_ANSWERS,
  fields: FIELDS,

  notes: [
    'A row names its agreement by agreement_no alone (every other field is then ignored), or by external_agreement_no with sign_scene (not DEFAULT|DEFAULT) and the user: alipay_user_id or alipay_open_id (not both), or alipay_logon_id.',
    'Once an agreement is NORMAL its row is done for good; a refused row is not sent again while unchanged (--retry-failed).',
  ],

  checkHeader(columns) {
    return checkHeaderWithAlternatives(FIELDS, columns, ['agreement_no', 'external_agreement_no']);
  },

  validate(cells) {
    const { errors, values } = validateFields(FIELDS, cells);
    // Once NORMAL an agreement stays done: there is no newer version of a row to prefer, hence no snapshot.
    const agreementNo = values['agreement_no'];
    if (agreementNo !== undefined) {
      // "如果传了该参数,其他参数会被忽略": Alipay ignores every other field, so they are neither checked nor sent
      // (a malformed one would only be noise in the request). Only agreement_no's own problem refuses the row.
      // The key is agreement_no, as it always was for these rows, and the body is what a row with agreement_no
      // alone always sent: rows the ledger holds keep their key, and the read-back asks by agreement_no alone.
      const own = errors.filter((e) => e.field === 'agreement_no');
      if (own.length > 0) return { ok: false, errors: own };
      return { ok: true, row: { key: agreementNo, snapshot: '', bizContent: buildBizContent(FIELDS, { agreement_no: agreementNo }) } };
    }
    crossFieldErrors(values, errors);
    if (errors.length > 0) return { ok: false, errors };
    return {
      ok: true,
      row: {
        // external_agreement_no is letters and digits only, so the first '|' ends it and the key reads back
        // unambiguously; sign_scene is part of it because the merchant's number is unique only within a scene.
        // personal_product_code never was part of it: a row has the same key with or without one.
        key: `ext:${values['external_agreement_no'] as string}|${values['sign_scene'] as string}`,
        snapshot: '',
        bizContent: buildBizContent(FIELDS, values),
      },
    };
  },

  safeCells(cells) {
    return safeAgreementCells(FIELDS, cells);
  },
};
