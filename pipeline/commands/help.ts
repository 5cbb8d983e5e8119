import type { Dataset, FieldSpec } from '../../sources/dataset.js';

/**
 * Help text that yargs' own layout does not give: examples on whole lines (a description, then the command on a
 * line of its own, not squeezed into a two-column cell), and a dataset's columns with their rules, generated from
 * its field table in sources/ (so the help cannot drift from the validation).
 */

/** The width help is laid out in (yargs' wrap, set in cli.ts): at most 110 columns, the terminal's when narrower. */
export const HELP_WIDTH = Math.min(110, process.stdout.columns || 110);

/**
 * `text` starting at column `indent`, wrapped at HELP_WIDTH with the next lines at `hang` (yargs would wrap a
 * long epilog line back to column 0, losing the layout).
 */
export function hanging(text: string, indent: number, hang: number, width = HELP_WIDTH): string {
  const lines: string[] = [];
  let line = ' '.repeat(indent);
  let empty = true;
  for (const word of text.split(' ')) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = ' '.repeat(hang);
      empty = true;
    }
    line += (empty ? '' : ' ') + word;
    empty = false;
  }
  lines.push(line);
  return lines.join('\n');
}

/** Examples, each a description and then the command on lines of its own (`$0` is the program's name). */
export function examples(list: readonly (readonly [command: string, what: string])[]): string {
  const line = ([command, what]: readonly [string, string]) => `${hanging(what + ':', 2, 4)}\n${hanging(command.replaceAll('$0', 'alipay-sync'), 4, 8)}`;
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
