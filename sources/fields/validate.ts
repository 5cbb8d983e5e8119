/**
 * A row and a header against a field table: trimming, defaults, required-ness, the field's check, lengths
 * in characters.
 *
 * These run once per row of multi-million-row files, so they avoid regexes and allocations where a
 * plain loop over char codes does the job.
 */
import type { FieldError, FieldSpec, HeaderCheck } from '../dataset.js';
import { maskLookAlike } from '../mask.js';
import { charLength } from './char-length.js';
import { tableOf } from './table.js';

/** Per-field values after normalisation: trimmed text, or undefined when absent (empty counts as absent). */
export type FieldValues = Record<string, string | undefined>;

export interface FieldsResult {
  errors: FieldError[];
  values: FieldValues;
}

const NO_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Validate one row against a field table. Every field is looked at, so the caller gets all the
 * row's problems at once (fixing a CSV one error per run is miserable).
 * `defaults` fill a field whose column is absent or whose cell is empty.
 */
export function validateFields(
  fields: readonly FieldSpec[],
  cells: Readonly<Record<string, string>>,
  defaults: Readonly<Record<string, string>> = NO_DEFAULTS,
): FieldsResult {
  const errors: FieldError[] = [];
  const values: FieldValues = {};
  for (const spec of fields) {
    const name = spec.name;
    // Cells hold strings only, so anything else is an inherited property such as "constructor":
    // cheaper per row than Object.hasOwn, and as exact.
    const cell: unknown = cells[name];
    const raw = typeof cell === 'string' ? cell : undefined;
    let value = raw === undefined ? '' : raw.trim();
    if (value === '') {
      const fallback = Object.hasOwn(defaults, name) ? defaults[name] : undefined;
      if (fallback !== undefined) {
        value = fallback;
      } else {
        values[name] = undefined;
        if (spec.required) {
          errors.push({ field: name, reason: raw === undefined ? 'required column missing' : 'required, but empty' });
        }
        continue;
      }
    }
    values[name] = value;
    // One reason per field: the format check speaks first ("must be one of: Y, N" says more about "YES" than
    // "is 3 characters, at most 1"); the length only when the format is fine.
    if (spec.check !== undefined) {
      const reason = spec.check(value);
      if (reason !== null) {
        errors.push({ field: name, reason });
        continue;
      }
    }
    // value.length >= code points, so only count when the cheap bound says it might be too long.
    if (value.length > spec.maxLength) {
      const len = charLength(value);
      if (len > spec.maxLength) errors.push({ field: name, reason: `is ${len} characters, at most ${spec.maxLength}` });
    }
  }
  return { errors, values };
}

/**
 * Required columns that are missing (unless defaulted) and columns the table does not know. Unknown names are
 * for messages, so one that looks like personal data (the "header" of a file without one is its first row) is
 * masked as safeCellsFor would mask it in a cell.
 */
export function checkHeaderAgainst(
  fields: readonly FieldSpec[],
  columns: readonly string[],
  defaults: Readonly<Record<string, string>> = NO_DEFAULTS,
): HeaderCheck {
  const present = new Set(columns);
  const table = tableOf(fields);
  const missing = fields
    .filter((f) => f.required && !present.has(f.name) && !Object.hasOwn(defaults, f.name))
    .map((f) => f.name);
  const unknown = columns.filter((c) => !table.specs.has(c)).map((c) => maskLookAlike(c, table.personal));
  return { missing, unknown };
}
