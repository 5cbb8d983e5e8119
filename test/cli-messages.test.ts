/** What a new user types wrong, and what the CLI answers: what was typed, what was meant, what to do; exit codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { testKeys } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { entities, toCsv } from './helpers/borrow.js';

test('mistyped commands and flags are named with what was meant; missing files and datasets are said plainly', async () => {
  const cases: [string[], RegExp][] = [
    [['uplod', 'x.csv'], /^error: unknown command "uplod": did you mean upload\?/],
    [['upload', 'borrow-entities', 'x.csv', '--dryrun'], /^error: unknown argument: --dryrun: did you mean --dry-run\?/],
    [['upload', 'borrow-entities', 'x.csv', '--ledgr', 'l.db'], /did you mean --ledger\?/],
    [['status', '--jsn'], /did you mean --json\?/],
    [['upload', 'borrow-entities'], /^error: name at least one CSV file: alipay-sync upload borrow-entities <file\.\.>/],
    [['retry', 'agreement-queries'], /^error: retry takes dataset borrow-entities, worker-contracts, agreement-effects; not "agreement-queries": agreement queries are not retried: .*agreements query/],
  ];
  for (const [args, expected] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, expected, args.join(' '));
    assert.doesNotMatch(r.stderr, /Not enough non-option|Invalid values|^error: Did you mean/m, args.join(' '));
  }
});

test('a bare group (a cron line that lost its subcommand) prints its help and exits 2; a bare alipay-sync exits 0', async () => {
  for (const group of ['upload', 'agreements', 'notify']) {
    const r = await runCli([group]);
    assert.equal(r.code, 2, group);
    assert.match(r.stdout, /Commands:/, `${group}: its help`);
    assert.match(r.stderr, new RegExp(`alipay-sync ${group} needs one of: .*nothing was done`));
  }
  const bare = await runCli([]);
  assert.equal(bare.code, 0);
  assert.match(bare.stdout, /Commands:/);
});

test('word per command: check without keys does not speak of a dry run, a dry run does; status names the ledger given; a busy --metrics-port names --metrics-port', async () => {
  const check = await runCli(['check']);
  assert.equal(check.code, 2);
  assert.match(check.stdout, /--app-id is required/);
  assert.doesNotMatch(check.stdout + check.stderr, /dry run/);
  const dir = tempDir();
  const csv = writeFile(dir, 'p.csv', toCsv(entities(2)));
  const dry = await runCli(['upload', 'borrow-entities', csv, '--dry-run']);
  assert.equal(dry.code, 2);
  assert.match(dry.stderr, /--app-id is required .*a dry run checks every setting the real run needs/);
  const none = await runCli(['status', '--ledger', join(dir, 'none.db')]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no ledger at .*none\.db \(is --ledger right\?/);
  assert.doesNotMatch(none.stderr, /pass --ledger/);

  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as { port: number }).port;
  try {
    const { files } = testKeys();
    const r = await runCli(['upload', 'borrow-entities', csv, '--app-id', '2021000000000001', '--private-key', files.appPrivateKey,
      '--alipay-public-key', files.alipayPublicKey, '--ledger', join(dir, 'l.db'), '--metrics-port', String(port)]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--metrics-port 0 picks a free one/);
    assert.doesNotMatch(r.stderr, /--port 0/);
  } finally {
    busy.close();
  }
});

test('check --online against a gateway that does not answer says check does not retry (a run would)', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const { files } = testKeys();
  const r = await runCli(['check', '--online', '--gateway', `http://127.0.0.1:${port}/gateway.do`, '--app-id', '2021000000000001',
    '--private-key', files.appPrivateKey, '--alipay-public-key', files.alipayPublicKey]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, /^fail\s+gateway-call\s+.*check makes one call and does not retry/m);
  assert.doesNotMatch(r.stdout, /will retry/);
});

test('upload --help: its dry-run example runs as written, with the config file it describes', async () => {
  const help = (await runCli(['upload', 'borrow-entities', '--help'], { env: { COLUMNS: '200' } })).stdout;
  const line = help.split('\n').find((l) => /^ {4}alipay-sync upload borrow-entities .*--dry-run/.test(l));
  assert.ok(line, 'a dry-run example');
  const dir = tempDir();
  const { files } = testKeys();
  writeFile(dir, 'points.csv', toCsv(entities(3)));
  writeFile(dir, 'app_private_key.txt', readFileSync(files.appPrivateKey, 'utf8'));
  writeFile(dir, 'alipay_public_key.txt', readFileSync(files.alipayPublicKey, 'utf8'));
  const config = /alipay\.json holds the settings: (\{.*?\})/.exec(help.replace(/\n\s+/g, ' '))![1]!;
  writeFile(dir, 'alipay.json', config.replace('2021…', '2021000000000001'));
  const r = await runCli(line.trim().split(' ').slice(1), { cwd: dir });
  assert.equal(r.code, 0, `${line.trim()}: ${r.stderr}`);
  assert.match(r.stdout + r.stderr, /run without --dry-run to send them/);
});
