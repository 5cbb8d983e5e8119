/** What of a row is fit to show: the copy of its cells that rejects files and messages print. */
import type { FieldSpec } from '../dataset.js';
import { maskLookAlike, maskPersonal, PERSONAL_FIELDS } from '../mask.js';
import { tableOf } from './table.js';

/**
 * Copy of cells fit to show in rejects files and messages: personal fields of the table, and any
 * column carrying a well-known personal name even if the table does not know it, are masked. So is a
 * value in any other column that looks like an ID number, or, in a table about people, a mobile number:
 * a column can hold what its name does not say (shifted columns, a mislabelled export), and a row is
 * shown precisely when something about it is wrong. A table without personal fields keeps its phone
 * numbers: there they are business contacts (a borrow point's contact_number).
 */
export function safeCellsFor(
  fields: readonly FieldSpec[],
  cells: Readonly<Record<string, string>>,
): Record<string, string> {
  const table = tableOf(fields);
  const out: Record<string, string> = {};
  for (const name of Object.keys(cells)) {
    const value = cells[name] ?? '';
    const spec = table.specs.get(name);
    out[name] = spec?.personal === true || PERSONAL_FIELDS.has(name) ? maskPersonal(name, value) : maskLookAlike(value, table.personal);
  }
  return out;
}
