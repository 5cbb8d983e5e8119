/** Help as a terminal shows it, at 80 and 120 columns: nothing over the width, no tag glued on, whole examples. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayWidth } from '../pipeline/table.js';
import { runCli } from './helpers/cli.js';

const HELPS = [
  [], ['upload'], ['agreements'], ['notify'], ['upload', 'borrow-entities'], ['upload', 'worker-contracts'], ['agreements', 'effect'],
  ['agreements', 'query'], ['notify', 'serve'], ['status'], ['report'], ['rows'], ['retry'], ['check'], ['sandbox'], ['demo'],
];

/** The commands of a help's Examples section, each joined from its lines (a long one goes on after ` \`). */
function exampleCommands(help: string, where: string): string[] {
  const at = help.indexOf('\nExamples:\n');
  if (at < 0) return [];
  const lines = help.slice(at + '\nExamples:\n'.length).trimEnd().split('\n');
  const commands: string[] = [];
  let current: string | null = null;
  for (const line of lines) {
    if (current !== null) {
      assert.match(line, /^ {6}\S/, `${where}: a command goes on at column 6 after " \\": ${JSON.stringify(line)}`);
      current += ' ' + line.trim();
    } else if (line.startsWith('    alipay-sync ')) {
      current = line.trim();
    } else {
      assert.match(line, /^ {2}\S|^ {4}\S/, `${where}: an example's description, or its command on a line of its own: ${JSON.stringify(line)}`);
      assert.ok(!line.includes('alipay-sync ') || line.trimEnd().endsWith(':') || !/^ {4}/.test(line), `${where}: no command inside a description line`);
      continue;
    }
    if (current.endsWith(' \\')) current = current.slice(0, -2);
    else {
      commands.push(current);
      current = null;
    }
  }
  assert.equal(current, null, `${where}: the last command ends`);
  return commands;
}

test('help at 80 and 120 columns: no line over the width, no type tag glued to a word, examples whole and the same at every width, no word broken', async () => {
  const at = async (columns: number) =>
    Promise.all(HELPS.map(async (words) => {
      const r = await runCli([...words, '--help'], { env: { COLUMNS: String(columns) } });
      assert.equal(r.code, 0, `${words.join(' ')} --help: ${r.stderr}`);
      return r.stdout;
    }));
  const byWidth = new Map<number, string[]>();
  for (const columns of [80, 120]) byWidth.set(columns, await at(columns));
  for (const [columns, helps] of byWidth) {
    helps.forEach((help, i) => {
      const where = `${['alipay-sync', ...HELPS[i]!].join(' ')} --help at ${columns}`;
      for (const line of help.split('\n')) assert.ok(displayWidth(line) <= columns, `${where}: ${displayWidth(line)} columns: ${JSON.stringify(line)}`);
      assert.doesNotMatch(help, /[^\s[(]\[(?:string|number|boolean|repeatable|array|required|default|choices)/, `${where}: a tag glued to a word`);
      assert.doesNotMatch(help, /\[array\]|\[default: \[\]\]/, `${where}: the file positional's yargs tags`);
    });
  }
  // the same words at every width (a word the layout broke would be two): and an example reads the same
  const [narrow, wide] = [byWidth.get(80)!, byWidth.get(120)!];
  const words = (help: string) => help.split(/\s+/).filter((w) => w !== '\\' && w !== '').sort();
  HELPS.forEach((command, i) => {
    const where = ['alipay-sync', ...command].join(' ');
    assert.deepEqual(words(narrow[i]!), words(wide[i]!), `${where}: the same words at 80 and 120 columns`);
    assert.deepEqual(exampleCommands(narrow[i]!, `${where} at 80`), exampleCommands(wide[i]!, `${where} at 120`), where);
  });
  const all = narrow.flatMap((h, i) => exampleCommands(h, String(i)));
  assert.ok(all.includes('alipay-sync status --json | jq .runs[0]'), 'status has its examples on lines of their own');
  assert.ok(all.includes('alipay-sync sandbox --cert-mode --rotate-after 100'));
  assert.ok(all.includes(`alipay-sync rows --format jsonl | jq -c 'select(.state == "pending")'`), 'a quoted argument is never split');
  assert.match(narrow[HELPS.findIndex((w) => w[0] === 'sandbox')]!, /"status": "TEMP\|NORMAL\|STOP"/, 'sandbox --help keeps its words whole');
  // the types said are the options' own
  const upload = narrow[HELPS.findIndex((w) => w[1] === 'borrow-entities')]!;
  assert.match(upload, /--qps[^]*?\[number\]\s+\[default: 50\]/);
  assert.match(upload, /^Run:[^]*?--sub-code/m, '--sub-code is listed with the run options, not under "Options"');
});
