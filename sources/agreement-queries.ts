/**
 * alipay.user.agreement.batch.query (支付宝个人代扣协议批量查询接口): ask which agreements a user holds,
 * to export them. One CSV row is one question; the field table is the seed's 请求参数 table, in its order.
 * The user is named by alipay_user_id, alipay_open_id or alipay_logon_id (the seed: "不可同时为空"; the precedence of
 * agreement-users.ts), checked per row.
 */
import type { AnswerRules, Dataset, FieldSpec } from './dataset.js';
import { buildBizContent, validateFields } from './fields.js';
import { checkHeaderWithAlternatives, checkThirdPartyType } from './agreement-effects.js';
import { NO_SUCH_USER, safeAgreementCells, USER_COLUMNS, USER_FIELDS, userErrors, userKey } from './agreement-users.js';

const FIELDS: readonly FieldSpec[] = Object.freeze([
  { name: 'personal_product_code', required: true, maxLength: 64 },
  ...USER_FIELDS,
  // Left out, Alipay answers for every scene ("不传默认查询所有场景").
  { name: 'sign_scene', required: false, maxLength: 64 },
  { name: 'third_party_type', required: false, maxLength: 32, check: checkThirdPartyType },
  { name: 'product_code', required: false, maxLength: 64 },
]);

/** What the method's answers mean: the page's 业务错误码 table. */
export const AGREEMENT_QUERIES_ANSWERS: AnswerRules = Object.freeze({
  meanings: Object.freeze({
    USER_NOT_EXIST_ERROR: NO_SUCH_USER,
    MERCHANT_AGREEMENT_IS_NOT_EXIST: 'the merchant agreement does not exist (商户协议不存在): check personal_product_code and product_code',
    PRODUCT_CODE_NOT_SUPPORTED_ERROR: 'the product code is not valid (无效的产品码)',
  }),
});

export const agreementQueries: Dataset = {
  name: 'agreement-queries',
  // every run asks again
  sendPolicy: 'always',
  // a key built from a logon id (an email or phone number) is personal: stored hashed (ValidRow.personalKey)
  hashedKeysBefore: true,
  method: 'alipay.user.agreement.batch.query',
  answers: AGREEMENT_QUERIES_ANSWERS,
  fields: FIELDS,

  notes: [
    'A row is one question: a user, by alipay_user_id or alipay_open_id (not both; either wins over alipay_logon_id) or alipay_logon_id, with personal_product_code and optional filters.',
    'Every run asks again; a run that follows an interrupted one within 24 h with the same files continues it (--fresh asks everyone).',
  ],

  checkHeader(columns) {
    return checkHeaderWithAlternatives(FIELDS, columns, USER_COLUMNS);
  },

  validate(cells) {
    const { errors, values } = validateFields(FIELDS, cells);
    userErrors(values, errors);
    if (errors.length > 0) return { ok: false, errors };
    // The user id or open id wins over the logon id (the seed: "若都填写,则以本参数为准"), so it alone names the user;
    // keys of rows that name users by user id or logon id are what they always were.
    // Every part is in the key: two rows that differ in a filter are two different questions.
    const user = userKey(values);
    const part = (name: string) => values[name] ?? '';
    return {
      ok: true,
      row: {
        key: `${user}|${part('personal_product_code')}|${part('sign_scene')}|${part('third_party_type')}|${part('product_code')}`,
        // a user named by logon id (personal data) is kept as a keyed hash; user ids and open ids are identifiers, kept in clear
        personalKey: user.startsWith('logon:'),
        // Every run asks again: there is nothing to compare between runs.
        snapshot: '',
        bizContent: buildBizContent(FIELDS, values),
      },
    };
  },

  safeCells(cells) {
    return safeAgreementCells(FIELDS, cells);
  },
};
