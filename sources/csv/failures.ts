/**
 * Why a record is broken, and how that is put in words: never with the cell's text (csv-parse quotes it,
 * and it may be personal data).
 */
import { maskLookAlike } from '../mask.js';

export const TOO_LONG = 'record longer than 1 MiB (a quote left open?)';

/** Thrown from the record hook to stop csv-parse at once: a record we call broken (it spans lines, wrongly). */
export class Broken {
  constructor(readonly reason: string) {}
}

/** Why a record is broken: csv-parse's error, our own verdict, or the record outgrew MAX_RECORD_BYTES. */
export type Failure = Error | Broken | typeof TOO_LONG;

/** A column as named in messages: by header name, unless that name looks like personal data (a file without a header). */
export function cellName(column: unknown, header: readonly string[] | undefined): string {
  if (typeof column !== 'number') return 'a cell';
  const name = header?.[column];
  return name !== undefined && name !== '' && maskLookAlike(name, true) === name ? `cell ${name}` : `cell ${column + 1}`;
}

/** What is wrong with a broken record, in words; never the cell's text (csv-parse quotes it: it may be personal data). */
export function describeFailure(fail: Failure, header: readonly string[] | undefined): string {
  if (fail === TOO_LONG) return TOO_LONG;
  if (fail instanceof Broken) return fail.reason;
  const err = fail as Error & { code?: unknown; column?: unknown };
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED': return 'a quote opened here is never closed';
    case 'CSV_MAX_RECORD_SIZE': return TOO_LONG;
    case 'INVALID_OPENING_QUOTE':
      return `${cellName(err.column, header)} has a quote but does not start with one (quote the whole cell and double the quotes in it)`;
    case 'CSV_INVALID_CLOSING_QUOTE':
      return `${cellName(err.column, header)} goes on after its closing quote (a stray quote?)`;
    default: {
      // Another csv-parse error: its words, without the value it may quote or its line count (which
      // counts from where the current parser started, not from the top of the file).
      let msg = err.message;
      const cut = msg.indexOf(', value is ');
      if (cut !== -1) msg = msg.slice(0, cut);
      return msg.replace(/ (at|on) line \d+/g, '');
    }
  }
}

/** A record that ran on (a quote never closed, the size limit): where reading goes on is worth saying even on one line. */
export function isRunaway(fail: Failure): boolean {
  if (fail === TOO_LONG) return true;
  const code = (fail as { code?: unknown }).code;
  return code === 'CSV_QUOTE_NOT_CLOSED' || code === 'CSV_MAX_RECORD_SIZE';
}
