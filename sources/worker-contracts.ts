/**
 * alipay.ins.scene.contract.workersaas.upload (宠物险-灵工协议上传): signed gig-worker agreements. These rows
 * carry a person's real name, ID number and phone: the fields are marked personal, so every place that shows
 * a row (rejects file, messages) masks them, and no reason here ever repeats a personal value.
 */
import type { AnswerRules, Dataset, FieldSpec } from './dataset.js';
import { buildBizContent, checkHeaderAgainst, isDateTime, safeCellsFor, validateFields } from './fields.js';
import { checkIdCard } from './id-card.js';

/** 11-digit mainland mobile numbers: 1, then 3-9 (no 10x/11x/12x ranges exist), then 9 digits. */
export function checkMobile(value: string): string | null {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return 'must be digits only (an 11-digit mainland mobile number)';
  }
  if (value.length !== 11) return `must be 11 digits, not ${value.length}`;
  const second = value.charCodeAt(1);
  if (value.charCodeAt(0) !== 49 /* 1 */ || second < 51 /* 3 */) return 'must start with 13-19 (a mainland mobile number)';
  return null;
}
checkMobile.rule = 'an 11-digit mainland mobile number';

/**
 * 透传参数: any JSON text, sent to Alipay as a string. The reason says where the text stops being JSON, not
 * what is there: V8's message quotes the text ('Unexpected token ..., "<the text>" is not valid JSON').
 */
export function checkJsonText(value: string): string | null {
  try {
    JSON.parse(value);
    return null;
  } catch (err) {
    const msg = (err as Error).message;
    const at = / at position (\d+)/.exec(msg);
    if (at !== null) return `must be valid JSON text (it breaks at character ${Number(at[1]) + 1})`;
    if (msg.startsWith('Unexpected end')) return 'must be valid JSON text (it ends too early)';
    if (msg.startsWith('Unexpected token')) return 'must be valid JSON text (it has a character JSON does not allow there)';
    return 'must be valid JSON text';
  }
}
checkJsonText.rule = 'any JSON text (sent as a string)';

/**
 * 灵工协议文件列表: a JSON array of {fileName, fileUrl} objects with string values, sent as a string.
 *
 * The page (seed 000) says only "自定义jsonArray字符串，元素属性fileName、fileUrl": a JSON array whose elements have
 * the properties fileName and fileUrl. It asks for an array, not for at least one element, so `[]` is accepted
 * (the field itself is required: the cell may not be empty). It names the properties and states nothing about
 * their values (no length, no format, no "不能为空"), so an empty string is still a string property and is
 * accepted as well: refusing it would be a rule the page does not have. What the page does rule out is refused:
 * text that is not a JSON array, an element that is not an object, an element without a string fileName or
 * fileUrl.
 */
export function checkFiles(value: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return 'must be a JSON array of {"fileName": …, "fileUrl": …} objects';
  }
  if (!Array.isArray(parsed)) return 'must be a JSON array of {"fileName": …, "fileUrl": …} objects';
  for (const [i, f] of parsed.entries()) {
    if (f === null || typeof f !== 'object' || Array.isArray(f)) return `element ${i + 1} must be an object with fileName and fileUrl`;
    const o = f as Record<string, unknown>;
    if (typeof o.fileName !== 'string') return `element ${i + 1} needs a string fileName`;
    if (typeof o.fileUrl !== 'string') return `element ${i + 1} needs a string fileUrl`;
  }
  return null;
}
checkFiles.rule = 'a JSON array of {"fileName": …, "fileUrl": …} objects ([] allowed)';

const FIELDS: readonly FieldSpec[] = Object.freeze([
  { name: 'sign_order_no', required: true, maxLength: 64, rule: 'the contract\'s number (the key)' },
  { name: 'sign_time', required: true, maxLength: 32, check: isDateTime },
  { name: 'real_name', required: true, maxLength: 64, personal: true },
  { name: 'id_card', required: true, maxLength: 32, personal: true, check: (v: string) => checkIdCard(v), rule: 'an 18-character mainland ID number (region, birth date and check digit verified)' },
  { name: 'phone', required: true, maxLength: 32, personal: true, check: checkMobile },
  { name: 'payload', required: true, maxLength: 256, check: checkJsonText },
  { name: 'files', required: true, maxLength: 512, check: checkFiles },
]);

/**
 * What the method's answers mean. The official SDKs' response class for this method declares no fields: a 10000
 * is the acceptance, and biz_success is often absent. Only an explicit false (boolean or string) fails the contract.
 */
export const WORKER_CONTRACT_ANSWERS: AnswerRules = Object.freeze({
  rowFailure: (fields: Record<string, unknown>) =>
    fields.biz_success === false || (typeof fields.biz_success === 'string' && fields.biz_success.trim().toLowerCase() === 'false')
      ? `biz_success is ${JSON.stringify(fields.biz_success)}: Alipay did not accept the contract`
      : null,
  meanings: Object.freeze({
    INVALID_PARAMETER: 'a parameter is wrong (参数有误): fix the row and upload it again',
  }),
});

export const workerContracts: Dataset = {
  name: 'worker-contracts',
  method: 'alipay.ins.scene.contract.workersaas.upload',
  answers: WORKER_CONTRACT_ANSWERS,
  fields: FIELDS,

  checkHeader(columns) {
    return checkHeaderAgainst(FIELDS, columns);
  },

  validate(cells) {
    const { errors, values } = validateFields(FIELDS, cells);
    if (errors.length > 0) return { ok: false, errors };
    // No snapshot: a contract is re-uploaded when its content changes (the ledger compares keyed hashes).
    return { ok: true, row: { key: values['sign_order_no'] as string, snapshot: '', bizContent: buildBizContent(FIELDS, values) } };
  },

  safeCells(cells) {
    return safeCellsFor(FIELDS, cells);
  },
};
