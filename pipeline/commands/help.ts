import type { Dataset, FieldSpec } from '../../sources/dataset.js';
import { displayWidth } from '../table.js';

/**
 * Help text that yargs' own layout does not give: examples on whole lines (a description, then the command on a
 * line of its own, not squeezed into a two-column cell), and a dataset's columns with their rules, generated from
 * its field table in sources/ (so the help cannot drift from the validation).
 */

let width = 110;

/**
 * The width help is laid out in (yargs' wrap too): the terminal's, or $COLUMNS when stdout is not a terminal,
 * from 60 to 110 columns; 110 when neither says. cli.ts sets it before anything is laid out.
 */
export function setHelpWidth(columns: number | undefined): number {
  width = Math.max(60, Math.min(110, columns !== undefined && Number.isInteger(columns) && columns > 0 ? columns : 110));
  return width;
}
export const helpWidth = (): number => width;

/**
 * `text` starting at column `indent`, wrapped at the help's width with the next lines at `hang` (yargs would wrap
 * a long epilog line back to column 0, losing the layout). Widths are terminal columns (a Chinese character
 * takes two); a word is never broken.
 */
export function hanging(text: string, indent: number, hang: number, max = width): string {
  return wrapWords(text.split(' '), indent, hang, max, '').join('\n');
}

/** Words on lines of at most `max` columns (each but the last ending in `end`), the first at `indent`, then `hang`. */
function wrapWords(words: readonly string[], indent: number, hang: number, max: number, end: string): string[] {
  const lines: string[] = [];
  let line = ' '.repeat(indent);
  let empty = true;
  for (const word of words) {
    if (!empty && displayWidth(line) + 1 + displayWidth(word) + end.length > max) {
      lines.push(line + end);
      line = ' '.repeat(hang);
      empty = true;
    }
    line += (empty ? '' : ' ') + word;
    empty = false;
  }
  lines.push(line);
  return lines;
}

/** A command line's words as the shell sees them: spaces inside quotes do not split (a line may not break there). */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote = '';
  for (const ch of command) {
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === ' ') {
      if (word) words.push(word);
      word = '';
      continue;
    }
    word += ch;
  }
  if (word) words.push(word);
  return words;
}

/** A flag and its value stay on one line (`--ledger points.db`): the words as units that a line may not split. */
function flagsWithValues(words: readonly string[]): string[] {
  const units: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const value = words[i + 1];
    const takes = /^--[a-z-]+$/.test(w) && value !== undefined && !value.startsWith('-') && !/^[|>]/.test(value);
    units.push(takes ? `${w} ${value}` : w);
    if (takes) i++;
  }
  return units;
}

/**
 * Examples, each a description and then the command on lines of its own (`$0` is the program's name). A command
 * too long for one line goes on with a shell continuation (` \`), broken only between words outside quotes,
 * so it can be copied into a shell as it stands.
 */
export function examples(list: readonly (readonly [command: string, what: string])[]): string {
  const line = ([command, what]: readonly [string, string]) =>
    `${hanging(what + ':', 2, 4)}\n${wrapWords(flagsWithValues(shellWords(command.replaceAll('$0', 'alipay-sync'))), 4, 6, width, ' \\').join('\n')}`;
  return 'Examples:\n' + list.map(line).join('\n');
}

function ruleOf(f: FieldSpec): string {
  const rule = f.rule ?? f.check?.rule ?? 'text';
  const max = `at most ${f.maxLength} character${f.maxLength === 1 ? '' : 's'}`;
  return `${rule}; ${max}${f.personal ? '; personal: masked in every message and file' : ''}`;
}

/**
 * The columns of a dataset's CSV: the ones a file must have (the header check's verdict on a file with no column
 * at all: defaults and alternatives come out right), then the optional ones, each with its rule; then the rules
 * between fields.
 */
export function columnsHelp(d: Dataset): string {
  const missing = d.checkHeader([]).missing;
  const required = d.fields.filter((f) => missing.includes(f.name));
  const alternatives = missing.filter((m) => !d.fields.some((f) => f.name === m));
  const optional = d.fields.filter((f) => !missing.includes(f.name));
  const width = Math.max(...d.fields.map((f) => f.name.length));
  const line = (f: FieldSpec) => hanging(`${f.name.padEnd(width)}  ${ruleOf(f)}`, 4, 6 + width);
  const out = [hanging(`Columns (a header row names them, in any order; other columns are ignored with a warning; method ${d.method}):`, 0, 2)];
  if (required.length) out.push('  required:', ...required.map(line));
  for (const a of alternatives) out.push(`  required: one of ${a.split(' or ').join(', ')} (see below)`);
  if (optional.length) out.push('  may be left out:', ...optional.map(line));
  if (d.notes?.length) out.push('  rules:', ...d.notes.map((n) => hanging(n, 4, 6)));
  out.push(hanging('Every value is trimmed; an empty cell counts as absent. Lengths count characters, not bytes.', 2, 4));
  return out.join('\n');
}
