/**
 * Finding and counting line breaks, in bytes and in text. LF, CRLF and a lone CR each end one physical
 * line, as the reader counts them.
 */

export const CR = 0x0d;
export const LF = 0x0a;

/** Line breaks (LF or CR) in a string; only called on the rare records that span lines. */
export function breaksIn(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  for (let i = s.indexOf('\r'); i !== -1; i = s.indexOf('\r', i + 1)) n++;
  return n;
}

export function breaksInCells(cells: readonly string[]): number {
  let n = 0;
  for (const c of cells) n += breaksIn(c);
  return n;
}

/** Index of the first line break (LF or CR) in `buf` at or after `from`, or -1. */
export function breakIn(buf: Buffer, from: number): number {
  const lf = buf.indexOf(LF, from);
  const cr = buf.indexOf(CR, from);
  return lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
}

/** The physical line (LF, CRLF or a lone CR ends one) holding code unit / byte `at` of `s`. */
export function lineAt(s: Buffer | string, at: number): number {
  let line = 1;
  for (let i = 0; i < at; i++) {
    const c = typeof s === 'string' ? s.charCodeAt(i) : s[i];
    if (c === LF || (c === CR && (i + 1 >= s.length || (typeof s === 'string' ? s.charCodeAt(i + 1) : s[i + 1]) !== LF))) line++;
  }
  return line;
}
