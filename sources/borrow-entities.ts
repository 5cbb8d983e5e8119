/**
 * zhima.merchant.borrow.entity.upload (信用借还借用实体数据上传): umbrella / power-bank points shown
 * on the 芝麻借还 map. The field table below is the seed's 请求参数 table, in its order, with its
 * 必选/可选 and 最大长度; the extra checks come from the table's 描述 column.
 */
import type { Dataset, FieldSpec } from './dataset.js';
import {
  buildBizContent,
  checkHeaderAgainst,
  isDateTime,
  isNonNegativeInteger,
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

/** 联系电话: mobile (11 digits) or landline (区号-数字); allow the usual punctuation people type. */
function isPhoneText(value: string): string | null {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || c === 32 || c === 45 /* - */ || c === 43 /* + */ || c === 40 || c === 41;
    if (!ok) return 'may contain only digits, spaces, "-", "+" and parentheses';
  }
  return null;
}

const FIELDS: readonly FieldSpec[] = Object.freeze([
  {
    name: 'product_code', required: true, maxLength: 20,
    check: (v: string) => (v === BORROW_PRODUCT_CODE ? null : `must be ${BORROW_PRODUCT_CODE}`),
  },
  // Other category codes are refused by the gateway (CATEGORY_CODE_ILLEGAL); catch them here.
  { name: 'category_code', required: true, maxLength: 32, check: oneOf(['umbrella', 'power_bank']) },
  { name: 'entity_code', required: true, maxLength: 32 },
  { name: 'longitude', required: true, maxLength: 20, check: numberInRange(-180, 180) },
  { name: 'latitude', required: true, maxLength: 20, check: numberInRange(-90, 90) },
  { name: 'entity_name', required: true, maxLength: 20 },
  { name: 'address_desc', required: false, maxLength: 50 },
  { name: 'office_hours_desc', required: false, maxLength: 20 },
  { name: 'contact_number', required: false, maxLength: 20, check: isPhoneText },
  { name: 'collect_rent', required: true, maxLength: 1, check: yesNo },
  { name: 'rent_desc', required: false, maxLength: 30 },
  { name: 'can_borrow', required: true, maxLength: 1, check: yesNo },
  { name: 'can_borrow_cnt', required: true, maxLength: 5, check: isNonNegativeInteger },
  { name: 'total_borrow_cnt', required: true, maxLength: 6, check: isNonNegativeInteger },
  // The snapshot: the gateway keeps the newest upload_time per entity, and so does the ledger.
  { name: 'upload_time', required: true, maxLength: 19, check: isDateTime },
]);

export const borrowEntities: Dataset = {
  name: 'borrow-entities',
  method: 'zhima.merchant.borrow.entity.upload',
  fields: FIELDS,

  checkHeader(columns) {
    return checkHeaderAgainst(FIELDS, columns, DEFAULTS);
  },

  validate(cells) {
    const { errors, values } = validateFields(FIELDS, cells, DEFAULTS);
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
        bizContent: buildBizContent(FIELDS, values),
      },
    };
  },

  safeCells(cells) {
    return safeCellsFor(FIELDS, cells);
  },
};
