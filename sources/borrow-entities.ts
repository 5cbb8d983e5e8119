/**
 * zhima.merchant.borrow.entity.upload (信用借还借用实体数据上传): umbrella / power-bank points shown
 * on the 芝麻借还 map. The field table below is the seed's 请求参数 table, in its order, with its
 * 必选/可选 and 最大长度; the extra checks come from the table's 描述 column.
 */
import type { AnswerRules, Dataset, FieldSpec } from './dataset.js';
import {
  buildBizContent,
  checkHeaderAgainst,
  isNonNegativeInteger,
  notAheadOfBeijing,
  numberInRange,
  oneOf,
  safeCellsFor,
  validateFields,
} from './fields.js';

/** 传入固定值: the only product code the API accepts, so merchants need not carry the column. */
export const BORROW_PRODUCT_CODE = 'w1010100000000002858';

const DEFAULTS: Readonly<Record<string, string>> = Object.freeze({ product_code: BORROW_PRODUCT_CODE });

const yesNo = oneOf(['Y', 'N']);

/** A concatenation as one flat string: rows wait in batches, where a string tree costs the GC (see fields.ts). */
function flat(s: string): string {
  void Number(s);
  return s;
}

/**
 * 联系电话 "手机11位数字，座机：区号-数字": an 11-digit mainland mobile number (1, then 3-9, then 9 digits), or a
 * landline as area code, '-', number: the area code 0 and 2-3 digits (010, 021, 0571), the number 7-8 digits not
 * starting with 0. Nothing else (no spaces, +86, parentheses or extensions): the page allows these two forms.
 */
export function checkContactNumber(value: string): string | null {
  const reason = 'must be an 11-digit mobile number or a landline as area code-number (e.g. 0571-26888888)';
  const dash = value.indexOf('-');
  if (dash === -1) {
    if (value.length !== 11 || value.charCodeAt(0) !== 49 /* 1 */) return reason;
    const second = value.charCodeAt(1);
    if (second < 51 /* 3 */ || second > 57) return reason;
    return allDigits(value, 2, value.length) ? null : reason;
  }
  const number = value.length - dash - 1;
  if (dash < 3 || dash > 4 || value.charCodeAt(0) !== 48 /* 0 */ || value.charCodeAt(1) === 48) return reason;
  if (number < 7 || number > 8 || value.charCodeAt(dash + 1) === 48) return reason;
  return allDigits(value, 1, dash) && allDigits(value, dash + 1, value.length) ? null : reason;
}
checkContactNumber.rule = 'an 11-digit mobile number, or area code-number (0571-26888888)';

function allDigits(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return from < to;
}

/** `HH:mm` at `at` as minutes of the day (24:00 is 1440), or -1. */
function clockAt(s: string, at: number): number {
  if (s.charCodeAt(at + 2) !== 58 /* : */ || !allDigits(s, at, at + 2) || !allDigits(s, at + 3, at + 5)) return -1;
  const h = (s.charCodeAt(at) - 48) * 10 + (s.charCodeAt(at + 1) - 48);
  const m = (s.charCodeAt(at + 3) - 48) * 10 + (s.charCodeAt(at + 4) - 48);
  if (m > 59 || h > 24 || (h === 24 && m !== 0)) return -1;
  return h * 60 + m;
}

/**
 * 营业时间 "格式：xx:xx-xx:xx，24小时制，如果是昼夜00:00—24:00": two 24-hour `HH:mm` times joined by '-' (the format
 * the page states) or '—' (the dash of the page's own examples, 09:00—22:00 and 00:00—24:00). 24:00 only ends a
 * day; an end before the start is a night across midnight (18:00-02:00).
 */
export function checkOfficeHours(value: string): string | null {
  const reason = 'must be opening hours as HH:mm-HH:mm on a 24-hour clock (e.g. 09:00-22:00; all day is 00:00-24:00)';
  if (value.length !== 11) return reason;
  const sep = value.charCodeAt(5);
  if (sep !== 45 /* - */ && sep !== 0x2014 /* — */) return reason;
  const from = clockAt(value, 0);
  const to = clockAt(value, 6);
  if (from < 0 || to < 0 || from === 1440 || from === to) return reason;
  return null;
}
checkOfficeHours.rule = 'HH:mm-HH:mm on a 24-hour clock (09:00-22:00; all day 00:00-24:00; across midnight 18:00-02:00)';

/** What the method's answers mean: the page's 业务错误码 table (SYSTEM_ERROR, retried, is the protocol's). */
export const BORROW_ENTITY_ANSWERS: AnswerRules = Object.freeze({
  meanings: Object.freeze({
    NULL_ARGUMENT: 'a required parameter is empty (参数为空)',
    ILLEGAL_ARGUMENT: 'a parameter has an illegal format or length (参数格式或者长度非法)',
    CATEGORY_CODE_ILLEGAL: 'category_code is not one Alipay accepts (类目code参数非法)',
    INFOSEC_VERIFY_FAILED: 'Alipay found sensitive content in the text (信息含敏感内容): edit entity_name/address_desc/rent_desc',
  }),
});

/** What borrowEntitiesWith can change. */
export interface BorrowEntityOptions {
  /**
   * Accept category_code `test`, which Alipay's models say joint testing (联调) must send. Off by default:
   * production refuses it (CATEGORY_CODE_ILLEGAL), and a test row must never reach a production map by accident.
   * The CLI turns it on with --allow-test-category.
   */
  allowTestCategory?: boolean;
  /** The clock upload_time is checked against (epoch ms); tests inject one. Default Date.now. */
  now?: () => number;
}

/** How far ahead of Beijing time an upload_time may be (clocks differ a little; a typo differs by years). */
export const UPLOAD_TIME_SLACK_MS = 10 * 60 * 1000;

const CATEGORIES = ['umbrella', 'power_bank'] as const;

function fieldsWith(o: BorrowEntityOptions): readonly FieldSpec[] {
  const categories = oneOf(o.allowTestCategory ? [...CATEGORIES, 'test'] : CATEGORIES);
  // The same reason whatever the cell holds: a reason never repeats a value.
  const categoryReason = 'must be one of: umbrella, power_bank (test, for joint testing 联调, only with --allow-test-category)';
  return Object.freeze([
    {
      name: 'product_code', required: true, maxLength: 20, rule: `${BORROW_PRODUCT_CODE}, its one value: the column may be left out`,
      check: (v: string) => (v === BORROW_PRODUCT_CODE ? null : `must be ${BORROW_PRODUCT_CODE}`),
    },
    // Other category codes are refused by the gateway (CATEGORY_CODE_ILLEGAL); catch them here.
    {
      name: 'category_code', required: true, maxLength: 32, rule: 'one of: umbrella, power_bank (test, for joint testing, only with --allow-test-category)',
      check: o.allowTestCategory ? categories : (v: string) => (categories(v) === null ? null : categoryReason),
    },
    { name: 'entity_code', required: true, maxLength: 32, rule: 'with category_code, names the point (the key)' },
    { name: 'longitude', required: true, maxLength: 20, check: numberInRange(-180, 180) },
    { name: 'latitude', required: true, maxLength: 20, check: numberInRange(-90, 90) },
    { name: 'entity_name', required: true, maxLength: 20 },
    { name: 'address_desc', required: false, maxLength: 50 },
    { name: 'office_hours_desc', required: false, maxLength: 20, check: checkOfficeHours },
    { name: 'contact_number', required: false, maxLength: 20, check: checkContactNumber },
    { name: 'collect_rent', required: true, maxLength: 1, check: yesNo },
    { name: 'rent_desc', required: false, maxLength: 30 },
    { name: 'can_borrow', required: true, maxLength: 1, check: yesNo },
    { name: 'can_borrow_cnt', required: true, maxLength: 5, check: isNonNegativeInteger },
    { name: 'total_borrow_cnt', required: true, maxLength: 6, check: isNonNegativeInteger },
    // The snapshot: the gateway keeps the newest upload_time per entity, and so does the ledger.
    { name: 'upload_time', required: true, maxLength: 19, check: notAheadOfBeijing(o.now ?? Date.now, UPLOAD_TIME_SLACK_MS) },
  ]);
}

/**
 * The borrow-entities dataset with options: `borrowEntitiesWith({ allowTestCategory: true })` for joint testing,
 * `now` for a test clock. `borrowEntities` is the default one (the `datasets` registry's).
 */
export function borrowEntitiesWith(o: BorrowEntityOptions = {}): Dataset {
  const fields = fieldsWith(o);
  return {
    name: 'borrow-entities',
    method: 'zhima.merchant.borrow.entity.upload',
    answers: BORROW_ENTITY_ANSWERS,
    fields,
    notes: [
      'category_code + entity_code name a point (the key); upload_time is its snapshot: Alipay keeps the newest, so an older row of the same point is superseded, never sent.',
    ],

    checkHeader(columns) {
      return checkHeaderAgainst(fields, columns, DEFAULTS);
    },

    validate(cells) {
      const { errors, values } = validateFields(fields, cells, DEFAULTS);
      if (errors.length > 0) return { ok: false, errors };
      // Required fields are all present once there are no errors.
      const category = values['category_code'] as string;
      const entity = values['entity_code'] as string;
      return {
        ok: true,
        row: {
          // 商户维度下 category_code + entity_code is unique; '/' cannot occur in a category code,
          // so the pair maps to one key and back without ambiguity.
          key: flat(`${category}/${entity}`),
          snapshot: values['upload_time'] as string,
          bizContent: buildBizContent(fields, values),
        },
      };
    },

    safeCells(cells) {
      return safeCellsFor(fields, cells);
    },
  };
}

export const borrowEntities: Dataset = borrowEntitiesWith();
