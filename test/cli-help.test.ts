/** Help as a user meets it: per dataset (generated from the field tables), on a bare command, completion, the version. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agreementDatasets, datasets } from '../sources/index.js';
import { columnsHelp } from '../pipeline/commands/help.js';
import { REPO, runCli } from './helpers/cli.js';

const ALL = [...Object.values(datasets), ...Object.values(agreementDatasets)];

test('every field of every dataset has a rule for its help (a checked field says what it accepts)', () => {
  for (const d of ALL) {
    for (const f of d.fields) {
      if (f.check) assert.ok(f.rule ?? f.check.rule, `${d.name}.${f.name} has a check but no rule text`);
    }
    const help = columnsHelp(d);
    for (const f of d.fields) assert.match(help, new RegExp(`^ {4}${f.name} +\\S`, 'm'), `${d.name}: ${f.name} listed`);
  }
});

test('per-dataset help lists its columns with their rules, examples on whole lines; a bare command shows help; completion; --version', async () => {
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  const borrow = await runCli(['upload', 'borrow-entities', '--help']);
  const worker = await runCli(['upload', 'worker-contracts', '--help']);
  assert.equal(borrow.code, 0);
  assert.notEqual(borrow.stdout, worker.stdout, 'two datasets, two helps');
  assert.match(borrow.stdout, /^ {4}latitude +a decimal number from -90 to 90/m);
  assert.match(borrow.stdout, /^ {4}product_code +w1010100000000002858, its one value: the column may be left out/m);
  assert.match(borrow.stdout, /^ {4}alipay-sync upload borrow-entities points\.csv --config alipay\.json --dry-run$/m, 'an example is a whole line');
  assert.match(borrow.stdout, /--allow-test-category/);
  assert.match(worker.stdout, /^ {4}id_card +an 18-character mainland ID number[^]*?personal: masked/m);
  assert.doesNotMatch(worker.stdout, /--allow-test-category/);
  const effect = await runCli(['agreements', 'effect', '--help']);
  assert.match(effect.stdout, /required: one of agreement_no, external_agreement_no/);
  assert.match(effect.stdout, /--notify-url/);
  assert.doesNotMatch(effect.stdout, /--out /);
  for (const cmd of ['rows', 'retry', 'check', 'status']) assert.match((await runCli([cmd, '--help'])).stdout, /Examples:/, cmd);

  for (const bare of [[], ['upload'], ['agreements'], ['notify']]) {
    const r = await runCli(bare);
    assert.equal(r.code, bare.length ? 2 : 0, `alipay-sync ${bare.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /Commands:/);
  }
  const wrong = await runCli(['upload', 'points.csv']);
  assert.equal(wrong.code, 2, 'a dataset that is not one is still a usage error');

  const script = await runCli(['completion']);
  assert.equal(script.code, 0);
  assert.match(script.stdout, /--get-yargs-completions/);
  const words = await runCli(['--get-yargs-completions', 'alipay-sync', 'upload', '']);
  assert.deepEqual(words.stdout.trim().split('\n'), ['borrow-entities', 'worker-contracts']);

  assert.equal((await runCli(['--version'])).stdout.trim(), version);
});
