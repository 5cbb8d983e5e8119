/**
 * Field-table machinery shared by every dataset: trimming, defaults, required-ness, lengths in
 * characters, reusable checks, and the biz_content builder. A dataset module is then mostly data.
 *
 * These run once per row of multi-million-row files, so they avoid regexes and allocations where a
 * plain loop over char codes does the job.
 */
import type { FieldError, FieldSpec, HeaderCheck } from './dataset.js';
import { maskLookAlike, maskPersonal, PERSONAL_FIELDS } from './mask.js';

/** Per-field values after normalisation: trimmed text, or undefined when absent (empty counts as absent). */
export type FieldValues = Record<string, string | undefined>;

export interface FieldsResult {
  errors: FieldError[];
  values: FieldValues;
}

const NO_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Number of Unicode code points. The API's max lengths are in characters, and a Chinese name is one
 * UTF-16 unit per character but a rarer character may take two, so `.length` would over-count.
 */
export function charLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point; skip the low half.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

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

/** JSON string literal; plain text (the common case) is quoted as is, without JSON.stringify's work. */
function jsonString(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    // Control characters, quote, backslash and surrogates (a lone one must be escaped) need care.
    if (c < 0x20 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(v);
  }
  return `"${v}"`;
}

const quotedKeys = new WeakMap<readonly FieldSpec[], string[]>();

/**
 * biz_content JSON text: keys in field-table order (stable text makes identical rows compare equal
 * and keeps requests readable), absent optional fields left out rather than sent as "" (the gateway
 * may treat "" as a value and reject or store it), every value a string as the API declares.
 * Built as text because it runs per row, and is about twice as fast as JSON.stringify of an object.
 */
export function buildBizContent(fields: readonly FieldSpec[], values: Readonly<FieldValues>): string {
  let keys = quotedKeys.get(fields);
  if (keys === undefined) {
    keys = fields.map((f) => `${JSON.stringify(f.name)}:`);
    quotedKeys.set(fields, keys);
  }
  let out = '';
  for (let i = 0; i < fields.length; i++) {
    const v = values[(fields[i] as FieldSpec).name];
    if (v === undefined || v === '') continue;
    out += (out === '' ? '{' : ',') + (keys[i] as string) + jsonString(v);
  }
  if (out === '') return '{}';
  const text = `${out}}`;
  // Concatenation leaves a tree of ~30 string pieces per row; rows wait in a batch for the ledger, so every
  // piece survived garbage collections and was copied and promoted (GC was a fifth of staging). Converting the
  // text to a number makes V8 flatten it into one string; the number itself is thrown away.
  void Number(text);
  return text;
}

/** A field table looked up by name, and whether it is about people (has a personal field). */
interface Table {
  specs: ReadonlyMap<string, FieldSpec>;
  personal: boolean;
}

const tables = new WeakMap<readonly FieldSpec[], Table>();

function tableOf(fields: readonly FieldSpec[]): Table {
  let t = tables.get(fields);
  if (t === undefined) {
    t = { specs: new Map(fields.map((f) => [f.name, f])), personal: fields.some((f) => f.personal === true) };
    tables.set(fields, t);
  }
  return t;
}

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

// ---- checks -------------------------------------------------------------------------------------

/**
 * What a value is made of, for reasons: its length and kinds of characters ("18 characters of digits",
 * "10 characters: digits and punctuation"), never the characters themselves. A reason goes to logs and
 * rejects files, and a value in the wrong column may be an ID number: say what is wrong, not what was there.
 */
export function describeShape(value: string): string {
  let kinds = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (isDigit(c)) kinds |= 1;
    else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) kinds |= 2;
    else if (c === 32 || c === 9) kinds |= 4;
    else if (c < 128) kinds |= 8;
    else kinds |= 16;
  }
  const n = charLength(value);
  const names = ['digits', 'letters', 'spaces', 'punctuation', 'non-ASCII characters'].filter((_, k) => (kinds & (1 << k)) !== 0);
  const count = `${n} character${n === 1 ? '' : 's'}`;
  if (names.length === 0) return 'nothing';
  if (names.length === 1) return `${count} of ${names[0]}`;
  return `${count}: ${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Parse `count` ASCII digits at `at`, or -1 when any is not a digit. */
function digitsAt(s: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Strict `yyyy-MM-dd HH:mm:ss` that names a real calendar time. Snapshots are ordered by this
 * text, so a lenient parse (Date rolls 02-30 over to 03-01) would silently reorder history.
 */
export function isDateTime(value: string): string | null {
  const year = value.length === 19 ? digitsAt(value, 0, 4) : -1;
  const month = year >= 0 ? digitsAt(value, 5, 2) : -1;
  const day = month >= 0 ? digitsAt(value, 8, 2) : -1;
  const hour = day >= 0 ? digitsAt(value, 11, 2) : -1;
  const minute = hour >= 0 ? digitsAt(value, 14, 2) : -1;
  const second = minute >= 0 ? digitsAt(value, 17, 2) : -1;
  // Reasons name the part that is wrong, never the value: it may be anything, in the wrong column.
  if (second < 0) return `not a real date-time: expected yyyy-MM-dd HH:mm:ss, got ${describeShape(value)}`;
  if (value[4] !== '-' || value[7] !== '-' || value[10] !== ' ' || value[13] !== ':' || value[16] !== ':') {
    return "not a real date-time: expected yyyy-MM-dd HH:mm:ss, with '-' in the date, a space, then ':' in the time";
  }
  if (year < 1) return 'not a real date-time: the year must be 0001 or later';
  if (month < 1 || month > 12) return 'not a real date-time: the month must be 01-12';
  if (day < 1 || day > daysInMonth(year, month)) return 'not a real date-time: that month has no such day';
  if (hour > 23) return 'not a real date-time: the hour must be 00-23';
  if (minute > 59) return 'not a real date-time: the minute must be 00-59';
  if (second > 59) return 'not a real date-time: the second must be 00-59';
  return null;
}

/** True for plain decimal text: optional '-', digits, optionally '.' and more digits. */
function isDecimalText(value: string): boolean {
  let i = value.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  const intStart = i;
  while (i < value.length && isDigit(value.charCodeAt(i))) i++;
  if (i === intStart) return false;
  if (i === value.length) return true;
  if (value.charCodeAt(i) !== 46 /* . */) return false;
  const fracStart = ++i;
  while (i < value.length && isDigit(value.charCodeAt(i))) i++;
  return i > fracStart && i === value.length;
}

/**
 * Decimal number within [min, max]. Exponents, '+', spaces and "1." are refused: the value is sent
 * as the text the merchant wrote, so the text itself has to be what the API expects.
 */
export function numberInRange(min: number, max: number): (value: string) => string | null {
  const reason = `must be a decimal number from ${min} to ${max}`;
  return (value) => {
    if (!isDecimalText(value)) return reason;
    const n = Number(value);
    return n >= min && n <= max ? null : reason;
  };
}

/** One of a fixed set of values, compared exactly (the gateway is case-sensitive). */
export function oneOf(allowed: readonly string[]): (value: string) => string | null {
  const set = new Set(allowed);
  const reason = `must be one of: ${allowed.join(', ')}`;
  return (value) => (set.has(value) ? null : reason);
}

/** Whole number of 0 or more, digits only (no sign, no decimal point, no grouping). */
export function isNonNegativeInteger(value: string): string | null {
  for (let i = 0; i < value.length; i++) {
    if (!isDigit(value.charCodeAt(i))) return 'must be a whole number of 0 or more (digits only)';
  }
  return value.length > 0 ? null : 'must be a whole number of 0 or more (digits only)';
}

/** Beijing is UTC+8 all year (no daylight saving): a fixed offset is exact whatever the host's time zone. */
const BEIJING_OFFSET_MS = 8 * 3600 * 1000;

/** `yyyy-MM-dd HH:mm:ss` in Beijing time for an instant (epoch ms). */
export function beijingDateTime(epochMs: number): string {
  return new Date(epochMs + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * A real `yyyy-MM-dd HH:mm:ss` (isDateTime) in Beijing time that is at most `slackMs` ahead of `now()`. For a
 * snapshot time: Alipay keeps the snapshot with the newest time, so one in the future (a typo like 2099) would
 * win over every later upload and freeze the record. The clock is read per value (cheap); the limit's text is
 * made again only when the clock has moved to another second.
 */
export function notAheadOfBeijing(now: () => number, slackMs: number): (value: string) => string | null {
  const minutes = Math.round(slackMs / 60_000);
  const reason = `is more than ${minutes} minute${minutes === 1 ? '' : 's'} ahead of the time in Beijing now: Alipay keeps the newest snapshot, so a future one would hide every later update`;
  let second = NaN;
  let limit = '';
  return (value) => {
    const wrong = isDateTime(value);
    if (wrong !== null) return wrong;
    const ms = now();
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      limit = beijingDateTime(ms + slackMs);
    }
    // Same fixed-width format, four-digit years: the text sorts as the time does.
    return value > limit ? reason : null;
  };
}
