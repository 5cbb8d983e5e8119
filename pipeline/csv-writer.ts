import { stringify } from 'csv-stringify/sync';
import { guardFormula } from '../sources/csv/formula-guard.js';

/**
 * CSV for people: the rejects file, the agreements export and `rows --format csv`. csv-stringify (the writer of
 * the csv-parse family we read with) quotes what needs quoting the way our reader reads it back; every text cell
 * goes through the formula guard (sources/csv/formula-guard.ts). One row per call: the callers stream with
 * backpressure (writeOrFail), and a row costs about 2 µs.
 */
const OPTIONS = { cast: { string: (value: string) => guardFormula(value) } };

/** One CSV record, guarded and quoted, ending in '\n'. */
export function csvRow(cells: readonly string[]): string {
  return stringify([cells as string[]], OPTIONS);
}

/**
 * The UTF-8 byte order mark that files for spreadsheets start with by default (Excel on a Chinese Windows reads
 * a CSV without it as GBK, and shows UTF-8 text as mojibake); `--bom false` leaves it out. Our reader skips it.
 */
export const BOM = '\uFEFF';
