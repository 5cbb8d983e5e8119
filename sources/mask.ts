/**
 * Masks for personal data (design: `real_name`, `id_card`, `phone` are never printed or logged in
 * clear). The masked form keeps just enough for a person to recognise which row is meant, and keeps
 * the length so a wrongly sized value is still visible as such.
 *
 * Everything works on code points, not UTF-16 units, so a name with a character outside the BMP
 * (common in rare Chinese surnames) is never cut in half into a broken surrogate.
 */

/** Field names that hold personal data in any dataset; masked wherever they appear, even as unknown columns. */
export const PERSONAL_FIELDS: ReadonlySet<string> = new Set(['real_name', 'id_card', 'phone']);

function stars(n: number): string {
  return n > 0 ? '*'.repeat(n) : '';
}

/** '张三' → '张*', '欧阳小明' → '欧***'. A single character is fully starred: it alone would be the name in clear. */
export function maskName(value: string): string {
  const chars = Array.from(value);
  if (chars.length <= 1) return stars(chars.length);
  return chars[0] + stars(chars.length - 1);
}

/** Keep `head` first and `tail` last characters; too short to hide anything that way → all stars. */
function keepEnds(value: string, head: number, tail: number): string {
  const chars = Array.from(value);
  const hidden = chars.length - head - tail;
  // With fewer than head+tail+1 characters the ends would be (almost) the whole value.
  if (hidden <= 0) return stars(chars.length);
  return chars.slice(0, head).join('') + stars(hidden) + chars.slice(chars.length - tail).join('');
}

/** '330110199001011234' → '3301**********1234' */
export function maskIdCard(value: string): string {
  return keepEnds(value, 4, 4);
}

/** '13112345678' → '131****5678' */
export function maskPhone(value: string): string {
  return keepEnds(value, 3, 4);
}

/** Mask by field name; any other personal field is starred completely (one star per character). */
export function maskPersonal(field: string, value: string): string {
  switch (field) {
    case 'real_name': return maskName(value);
    case 'id_card': return maskIdCard(value);
    case 'phone': return maskPhone(value);
    default: return stars(Array.from(value).length);
  }
}

// ---- look-alikes --------------------------------------------------------------------------------
// A value can be personal whatever its column is called: an ID number pasted into the wrong column, a
// file whose columns are shifted by one. These recognise the two shapes that are unmistakable, so rows
// can be shown (rejects files, messages) without them. Only rejected rows and messages pay for this.

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isSpaceCode(c: number): boolean {
  return c === 32 || c === 9 || c === 0xa0 || c === 0x3000;
}

/** [start, end) of `value` without the spaces around it. */
function core(value: string): [number, number] {
  let s = 0;
  let e = value.length;
  while (s < e && isSpaceCode(value.charCodeAt(s))) s++;
  while (e > s && isSpaceCode(value.charCodeAt(e - 1))) e--;
  return [s, e];
}

/** 17 digits then a digit or X at value[s..s+18). */
function idCardAt(value: string, s: number): boolean {
  for (let i = s; i < s + 17; i++) if (!isDigitCode(value.charCodeAt(i))) return false;
  const last = value.charCodeAt(s + 17);
  return isDigitCode(last) || last === 88 /* X */ || last === 120 /* x */;
}

/** Where the 11 digits of a mainland mobile number (1, 3-9, 9 digits) start in value[s..e), after an optional +86/86; -1 if not one. */
function mobileAt(value: string, s: number, e: number): number {
  let at = s;
  if (e - at > 11) {
    // +86 or 86, then maybe one space or dash
    if (value.charCodeAt(at) === 43 /* + */) at++;
    if (value.charCodeAt(at) !== 56 /* 8 */ || value.charCodeAt(at + 1) !== 54 /* 6 */) return -1;
    at += 2;
    const sep = value.charCodeAt(at);
    if (sep === 32 || sep === 45 /* - */) at++;
  }
  if (e - at !== 11 || value.charCodeAt(at) !== 49 /* 1 */) return -1;
  const second = value.charCodeAt(at + 1);
  if (second < 51 /* 3 */ || second > 57) return -1;
  for (let i = at + 2; i < e; i++) if (!isDigitCode(value.charCodeAt(i))) return -1;
  return at;
}

/** The whole value (spaces around it aside) is shaped like a mainland resident ID number: 17 digits, then a digit or X. */
export function looksLikeIdCard(value: string): boolean {
  const [s, e] = core(value);
  return e - s === 18 && idCardAt(value, s);
}

/** The whole value (spaces around it aside) is shaped like an 11-digit mainland mobile number, maybe after +86 or 86. */
export function looksLikeMobile(value: string): boolean {
  const [s, e] = core(value);
  return mobileAt(value, s, e) !== -1;
}

/**
 * The value with a look-alike masked like the field it looks like, else the value itself. ID numbers are
 * masked always; mobile numbers only with `phones` (a dataset about people: elsewhere a phone number is
 * a business contact, shown as it is).
 */
export function maskLookAlike(value: string, phones: boolean): string {
  const [s, e] = core(value);
  if (e - s === 18 && idCardAt(value, s)) return value.slice(0, s) + maskIdCard(value.slice(s, e)) + value.slice(e);
  if (phones && e - s >= 11) {
    const at = mobileAt(value, s, e);
    if (at !== -1) return value.slice(0, at) + maskPhone(value.slice(at, e)) + value.slice(e);
  }
  return value;
}
