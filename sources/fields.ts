/**
 * Field-table machinery shared by every dataset: trimming, defaults, required-ness, lengths in
 * characters, reusable checks, and the biz_content builder. A dataset module is then mostly data.
 *
 * By concept under fields/: validate.ts (a row and a header against a table), char-length.ts, table.ts (a
 * table looked up by name), safe-cells.ts (what of a row is fit to show), biz-content.ts, and checks.ts
 * (the reusable value checks and the words their reasons use).
 */
export { validateFields, checkHeaderAgainst, type FieldValues, type FieldsResult } from './fields/validate.js';
export { charLength } from './fields/char-length.js';
export { buildBizContent } from './fields/biz-content.js';
export { safeCellsFor } from './fields/safe-cells.js';
export {
  describeShape, isDateTime, numberInRange, oneOf, isNonNegativeInteger, beijingDateTime, notAheadOfBeijing,
} from './fields/checks.js';
