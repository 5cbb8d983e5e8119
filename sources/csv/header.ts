/** The header row: its names, and what makes one unusable (the file then ends with a SourceError). */
import { SourceError } from '../errors.js';
import { maskLookAlike } from '../mask.js';

/** Names a header cell in an error without showing a value that looks like personal data. */
function safeName(name: string): string {
  return maskLookAlike(name, true);
}

/** The column names of header row `record` (starting on `line`), trimmed; throws SourceError when they cannot name cells. */
export function headerNames(file: string, record: string[], line: number): string[] {
  const names = record.map((n, i) => (i === 0 ? n.replace(/^\uFEFF/, '') : n).trim());
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const n of names) {
    // Empty names (trailing commas from spreadsheets) are not names; the dataset reports them as unknown.
    if (n === '') continue;
    if (seen.has(n)) dups.add(n);
    seen.add(n);
  }
  const ctx = { file, line };
  if (dups.size > 0) {
    // A "header" that is really a data row (a file without one) must not print its values.
    throw new SourceError('SYNC_SOURCE_HEADER', `${file}: duplicate column names in header: ${[...dups].map(safeName).join(', ')}`, ctx);
  }
  if (names.some((n) => n.includes('\uFFFD'))) {
    throw new SourceError('SYNC_SOURCE_HEADER', `${file}: header has bytes that are not valid in this encoding (wrong --encoding?)`, ctx);
  }
  // Cells are plain objects; this one name would set their prototype instead of a property.
  if (seen.has('__proto__')) {
    throw new SourceError('SYNC_SOURCE_HEADER', `${file}: column name __proto__ is not allowed`, ctx);
  }
  return names;
}
