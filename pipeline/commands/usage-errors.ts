import { canonicalName } from '../settings.js';
import type { CommandSpec } from './context.js';

/**
 * yargs' failure messages in words that say what was typed and what to type instead: an unknown command with
 * the one meant, an unknown flag with the closest flag of that command, a missing file or dataset, a dataset a
 * command does not take and why. cli.ts passes every yargs failure through here.
 */

/** Values a command's positional does not take, with the reason (what to run instead). */
const NOT_TAKEN: Readonly<Record<string, string>> = {
  'retry agreement-queries': 'agreement queries are not retried: an answer belongs to an export, so run alipay-sync agreements query again (it asks again only the users an interrupted run left)',
};

/** The commands argv names, as far as its leading words go, and the first word that names none. */
export function commandPath(argv: readonly string[], commands: readonly CommandSpec[]): { specs: CommandSpec[]; stray?: string } {
  const specs: CommandSpec[] = [];
  let level: readonly CommandSpec[] | undefined = commands;
  for (const word of argv) {
    if (word.startsWith('-') || !level) break;
    const spec: CommandSpec | undefined = level.find((c) => c.command.split(' ')[0] === word);
    if (!spec) return { specs, stray: word };
    specs.push(spec);
    level = spec.subcommands;
  }
  return { specs };
}

const words = (specs: readonly CommandSpec[]) => ['alipay-sync', ...specs.map((s) => s.command.split(' ')[0])].join(' ');

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The option of `spec` closest to a mistyped name (`dryrun` → `dry-run`), if one is close enough. */
export function closestOption(name: string, spec: CommandSpec | undefined): string | undefined {
  if (!spec?.run) return undefined;
  const negated = name.startsWith('no-');
  const bare = negated ? name.slice(3) : name;
  const plain = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  let best: { name: string; d: number } | undefined;
  for (const u of [...spec.uses.map((x) => x.name as string), 'help', 'version']) {
    const d = plain(u) === plain(bare) ? 0 : distance(bare.toLowerCase(), u);
    if (d <= Math.min(2, Math.floor(u.length / 3)) && (!best || d < best.d)) best = { name: u, d };
  }
  return best && `--${negated ? 'no-' : ''}${best.name}`;
}

/**
 * yargs' "Unknown arguments: bogus-flag, bogusFlag" names each unknown option twice (both spellings) and without
 * its dashes: say it once, as the user typed it (`--bogus-flag`, or a stray word as a word).
 */
function unknownArguments(message: string, argv: readonly string[]): string {
  const m = /^Unknown arguments?: (.*)$/s.exec(message);
  if (!m) return message;
  const typed = new Set(argv.filter((a) => a.startsWith('-')).map((a) => canonicalName(a.replace(/^-+/, '').split('=')[0]!)));
  const names = [...new Set(m[1]!.split(', ').map((n) => (typed.has(canonicalName(n)) ? canonicalName(n) : n)))];
  const shown = names.map((n) => (typed.has(n) ? (n.length === 1 ? `-${n}` : `--${n}`) : `"${n}"`));
  return `unknown ${names.length === 1 ? 'argument' : 'arguments'}: ${shown.join(', ')}`;
}

/** yargs' message for a failure, as we say it (anything not recognised is passed through unknownArguments). */
export function explainFailure(msg: string, argv: readonly string[], commands: readonly CommandSpec[]): string {
  const { specs, stray } = commandPath(argv, commands);
  const spec = specs[specs.length - 1];
  const level = spec ? spec.subcommands : commands;
  const meant = /^Did you mean (.+)\?$/.exec(msg);
  if (meant && stray) return `unknown command "${stray}": did you mean ${meant[1]}? (${words(specs)} --help lists them)`;
  if (/^Unknown arguments?: /.test(msg) && stray && level) {
    return `unknown command "${stray}": ${words(specs)} takes one of ${level.map((c) => c.command.split(' ')[0]).join(', ')} (see ${words(specs)} --help)`;
  }
  if (/^Unknown arguments?: /.test(msg)) {
    const unknown = unknownArguments(msg, argv);
    // yargs names a mistyped `--no-name` as "name"
    const typed = (m: RegExpMatchArray) => (m[1] ?? (argv.some((a) => a.split('=')[0] === `--no-${m[2]}`) ? `no-${m[2]}` : m[2]!));
    const hints = [...unknown.matchAll(/--([\w-]+)|"([\w-]+)"/g)].map((m) => [m[0], closestOption(typed(m), spec)] as const).filter(([, c]) => c);
    if (hints.length === 1 && !unknown.includes(',')) return `${unknown}: did you mean ${hints[0]![1]}?`;
    return hints.length ? `${unknown} (${hints.map(([typed, c]) => `${typed}: did you mean ${c}?`).join(' ')})` : unknown;
  }
  if (/^Not enough non-option arguments/.test(msg) && spec) {
    if (spec.command.includes('<file..>')) return `name at least one CSV file: ${words(specs)} <file..> (several, or a pattern such as exports/*.csv; see --help)`;
    const positional = /<(\w+)>/.exec(spec.command)?.[1];
    if (positional) return `name the ${positional}: ${words(specs)} <${positional}> (see ${words(specs)} --help)`;
  }
  const invalid = /^Invalid values:\s+Argument: (\w+), Given: "([^"]*)", Choices: (.*)$/s.exec(msg);
  if (invalid && spec) {
    const [, arg, given, choices] = invalid;
    const name = words(specs).replace(/^alipay-sync /, '');
    const why = NOT_TAKEN[`${name} ${given}`];
    return `${name} takes ${arg} ${choices!.replaceAll('"', '').split(', ').join(', ')}; not "${given}"${why ? `: ${why}` : ''}`;
  }
  return unknownArguments(msg, argv);
}
