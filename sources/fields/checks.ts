/**
 * Reusable value checks for field tables (FieldSpec.check): a check returns the reason a value is wrong,
 * or null. Reasons say what is wrong, never what was there (describeShape).
 *
 * These run once per row of multi-million-row files, so they avoid regexes and allocations where a
 * plain loop over char codes does the job.
 */
import { charLength } from './char-length.js';

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
isDateTime.rule = 'a real date-time, yyyy-MM-dd HH:mm:ss';

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
  const check = (value: string) => {
    if (!isDecimalText(value)) return reason;
    const n = Number(value);
    return n >= min && n <= max ? null : reason;
  };
  return Object.assign(check, { rule: `a decimal number from ${min} to ${max} (no exponent, no +)` });
}

/** One of a fixed set of values, compared exactly (the gateway is case-sensitive). */
export function oneOf(allowed: readonly string[]): (value: string) => string | null {
  const set = new Set(allowed);
  const reason = `must be one of: ${allowed.join(', ')}`;
  return Object.assign((value: string) => (set.has(value) ? null : reason), { rule: `one of: ${allowed.join(', ')}` });
}

/** Whole number of 0 or more, digits only (no sign, no decimal point, no grouping). */
export function isNonNegativeInteger(value: string): string | null {
  for (let i = 0; i < value.length; i++) {
    if (!isDigit(value.charCodeAt(i))) return 'must be a whole number of 0 or more (digits only)';
  }
  return value.length > 0 ? null : 'must be a whole number of 0 or more (digits only)';
}
isNonNegativeInteger.rule = 'a whole number, 0 or more (digits only)';

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
  const rule = `a real date-time, yyyy-MM-dd HH:mm:ss in Beijing time, at most ${minutes} minute${minutes === 1 ? '' : 's'} ahead of now`;
  return Object.assign((value: string) => {
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
  }, { rule });
}
