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
