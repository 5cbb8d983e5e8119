/** Lengths as the API counts them: in characters (code points), not UTF-16 units. */

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
