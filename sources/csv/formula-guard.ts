/**
 * Formula-injection guarding (OWASP "CSV injection"): a spreadsheet runs a cell that starts with `=`, `+`, `-`,
 * `@`, a tab or a carriage return (or their full-width forms, which some spreadsheets normalise) as a formula. The
 * files we write for people (rejects, exports, `rows --format csv`) prefix such a cell with `'`, which
 * spreadsheets show as text and hide; the set is csv-stringify's `escape_formulas` list.
 *
 * The guard is reversible, so a rejects file can be fed back: a cell that already starts with quotes before such a
 * character gets one more, and the reader (for files it recognises as our rejects files) takes exactly one off.
 * Both live here, in sources/, because the reader needs the inverse and pipeline/ may import sources/, not the
 * other way round.
 */

const TRIGGERS: ReadonlySet<string> = new Set(['=', '+', '-', '@', '\t', '\r', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20']);
const QUOTE = 39; // '

/** Index of the first character after the leading quotes. */
function afterQuotes(v: string, from: number): number {
  let i = from;
  while (v.charCodeAt(i) === QUOTE) i++;
  return i;
}

/** The cell as written for a spreadsheet: `'` before a cell that would start a formula (after any quotes it has). */
export function guardFormula(v: string): string {
  const i = afterQuotes(v, 0);
  return i < v.length && TRIGGERS.has(v[i]!) ? "'" + v : v;
}

/** The inverse of guardFormula: the cell as it was before it was written. */
export function unguardFormula(v: string): string {
  if (v.charCodeAt(0) !== QUOTE) return v;
  const i = afterQuotes(v, 1);
  return i < v.length && TRIGGERS.has(v[i]!) ? v.slice(1) : v;
}

/** The first columns of a rejects file (pipeline/rejects-file.ts): where it came from, then the row's own cells. */
export const REJECTS_COLUMNS = ['line', 'field', 'reason', 'file'] as const;

/** A header that starts like a rejects file's: its cells were guarded when written, and are unguarded when read. */
export function isRejectsHeader(columns: readonly string[]): boolean {
  return REJECTS_COLUMNS.every((c, i) => columns[i] === c);
}
