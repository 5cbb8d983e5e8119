/**
 * Production safety, tried as a user types it (continued in cli-safety-outputs.test.ts): several files and globs, every spelling of a boolean, settings
 * from the environment and a shared config file, a ledger moved to another target, outputs that cannot be
 * written, pipes that close early, secrets and personal data, and exit codes that tell failures apart.
 * Every test spawns the CLI against a real loopback sandbox and real files; each is bounded in time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { CLI, lastJson, runCli, spawnCli } from './helpers/cli.js';
import { startSandbox, testKeys } from './helpers/sandbox.js';
import { METHOD, borrowFile, sent, upload } from './helpers/borrow-cli.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { entities, toCsv } from './helpers/borrow.js';

test('several files and a glob (expanded by the shell or not) are all read, in order; a file named twice is read once', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const a = borrowFile(dir, 'a.csv', 10, 0);
  const b = borrowFile(dir, 'b.csv', 10, 100);
  mkdirSync(join(dir, 'exports'));
  borrowFile(join(dir, 'exports'), 'day1.csv', 5, 200);
  borrowFile(join(dir, 'exports'), 'day2.csv', 5, 300);
  const r = await upload(sb, join(dir, 'l.db'), [a, b, a]);
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout);
  assert.deepEqual([s.read, s.uploaded], [20, 20]);
  assert.match(r.stderr, /a\.csv is named more than once: reading it once/);
  assert.equal(sb.gateway.requestCounts(METHOD).size, 20, 'every row of both files reached the gateway');

  // A quoted pattern (as in a crontab line) is expanded by the tool; one matching nothing is an error.
  const g = await upload(sb, join(dir, 'l2.db'), [join(dir, 'exports', 'day*.csv')]);
  assert.equal(g.code, 0, g.stderr);
  assert.deepEqual([lastJson(g.stdout).read, lastJson(g.stdout).uploaded], [10, 10]);
  const none = await upload(sb, join(dir, 'l3.db'), [join(dir, 'exports', 'nothing*.csv')]);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /no file matches .*nothing\*\.csv/);
  const missing = await upload(sb, join(dir, 'l3.db'), [a, join(dir, 'missing.csv')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read .*missing\.csv: no such file/);
  assert.equal(existsSync(join(dir, 'l3.db')), false, 'nothing was created for a run that could not start');
});

test('--dry-run in every spelling, from a flag, the environment or the config file, sends nothing; false spellings send; a bad one is exit 2 naming its source', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const csv = borrowFile(dir, 'p.csv', 2, 0);
  const ledger = join(dir, 'l.db');
  const dry: [string[], Record<string, string>][] = [
    [['--dry-run'], {}], [['--dry-run=1'], {}], [['--dry-run=yes'], {}], [['--dry-run=ON'], {}], [['--dry-run=True'], {}], [['--dryRun'], {}],
    [[], { ALIPAY_SYNC_DRY_RUN: '1' }], [[], { ALIPAY_SYNC_DRY_RUN: 'yes' }], [[], { ALIPAY_SYNC_DRY_RUN: 'TRUE' }],
  ];
  const config = writeFile(dir, 'c.json', JSON.stringify({ 'dry-run': 'on' }));
  dry.push([['--config', config], {}]);
  for (const [flags, env] of dry) {
    const r = await upload(sb, ledger, [csv], flags, env);
    assert.equal(r.code, 0, `${flags.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
    assert.equal(lastJson(r.stdout).status, 'dry-run', `${flags.join(' ')} ${JSON.stringify(env)}`);
  }
  assert.equal(sent(sb), 0, 'no spelling of a dry run sent anything');
  assert.equal(existsSync(ledger), false, 'a dry run creates no ledger');

  // ALIPAY_SYNC_JSON=1 is honoured: the last line of stdout is the JSON summary.
  const j = await runCli(['upload', 'borrow-entities', csv, ...sb.flags, '--ledger', ledger, '--dry-run', '--no-progress'], { env: { ALIPAY_SYNC_JSON: '1' } });
  assert.equal(lastJson(j.stdout).status, 'dry-run');

  for (const [flags, env] of [[['--dry-run=maybe'], {}], [[], { ALIPAY_SYNC_DRY_RUN: 'maybe' }]] as [string[], Record<string, string>][]) {
    const r = await upload(sb, ledger, [csv], flags, env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, flags.length ? /--dry-run=maybe: expected true or false/ : /ALIPAY_SYNC_DRY_RUN \(environment\): expected true or false/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const off = await upload(sb, ledger, [csv], ['--dry-run=0'], { ALIPAY_SYNC_DRY_RUN: 'yes' });
  assert.equal(off.code, 0, off.stderr);
  assert.equal(lastJson(off.stdout).uploaded, 2, 'the flag wins over the environment, and false sends');
  assert.equal(sent(sb), 2);
});

test('upload settings exported (as the README\'s cron line does) or in a shared config file do not break status, sandbox, notify serve or demo', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const { files } = testKeys();
  const ledger = join(dir, 'l.db');
  const csv = borrowFile(dir, 'p.csv', 3, 0);
  const first = await upload(sb, ledger, [csv]);
  assert.equal(first.code, 0, first.stderr);
  const env = {
    ALIPAY_SYNC_APP_ID: '2021004100000000', ALIPAY_SYNC_PRIVATE_KEY: files.appPrivateKey, ALIPAY_SYNC_ALIPAY_PUBLIC_KEY: files.alipayPublicKey,
    ALIPAY_SYNC_QPS: '20', ALIPAY_SYNC_REJECTS: join(dir, 'r.csv'), ALIPAY_SYNC_LEDGER: ledger, ALIPAY_SYNC_ENCODING: 'gbk',
  };
  const st = await runCli(['status'], { env });
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /^run\tdataset\t/);
  const shared = writeFile(dir, 'shared.json', JSON.stringify({ 'app-id': '2021004100000000', qps: 20, ledger, rejects: join(dir, 'r.csv'), encoding: 'gbk' }));
  const st2 = await runCli(['status', '--config', shared]);
  assert.equal(st2.code, 0, st2.stderr);

  // Long-running commands: they start (print their address) with the same environment, then stop on SIGTERM.
  for (const args of [['sandbox', '--port', '0', '--keys-dir', join(dir, 'keys')], ['notify', 'serve', '--port', '0', '--alipay-public-key', files.alipayPublicKey, '--ledger', ledger]]) {
    // (the sandbox reads flags only: a --config is an unknown argument there)
    for (const extra of args[0] === 'sandbox' ? [[]] : [[], ['--config', shared]]) {
      const { child, done } = spawnCli([...args, ...extra], { env, timeoutMs: 20_000 });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/listening on/.test(out)) child.kill('SIGTERM');
      });
      const r = await done;
      assert.match(r.stdout, /listening on/, `${args[0]} ${extra.join(' ')}: ${r.stderr}`);
      if (args[0] === 'sandbox') assert.match(r.stdout, /app id: 2021000000000001/, 'the sandbox takes no app id from the environment or a config file');
      assert.equal(r.code, 0, r.stderr);
    }
  }
  const demo = await runCli(['demo', '--ledger', join(dir, 'demo', 'd.db')], { env, timeoutMs: 90_000 });
  assert.equal(demo.code, 0, demo.stderr);
  assert.match(demo.stdout, /uploaded/);

  const typo = await runCli(['status', '--ledger', ledger], { env: { ALIPAY_SYNC_LEDGR: 'x' } });
  assert.equal(typo.code, 0);
  assert.match(typo.stderr, /ignoring environment variable ALIPAY_SYNC_LEDGR/);
});

test('a ledger knows its target: another app id is refused (exit 2, both named) until --rebind-ledger, which then sends everything again', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const ledger = join(dir, 'l.db');
  const csv = borrowFile(dir, 'p.csv', 4, 0);
  assert.equal((await upload(sb, ledger, [csv])).code, 0);
  assert.equal(sent(sb), 4);
  const other = await upload(sb, ledger, [csv], ['--app-id', '2021009999999999']);
  assert.equal(other.code, 2, other.stderr);
  assert.match(other.stderr, /2021009999999999/);
  assert.match(other.stderr, new RegExp(sb.gateway.appId));
  assert.match(other.stderr, /--rebind-ledger/);
  assert.equal(lastJson(other.stdout).status, 'error');
  assert.equal(sent(sb), 4, 'nothing was sent to the other target');
  const dry = await upload(sb, ledger, [csv], ['--app-id', '2021009999999999', '--dry-run']);
  assert.equal(dry.code, 2, 'a dry run against another target is refused too');
  // Back to the sandbox's app id after a rebind to the other one: every row goes again.
  const rebound = await upload(sb, ledger, [csv], ['--app-id', '2021009999999999', '--rebind-ledger']);
  assert.equal(rebound.code, 3, 'the sandbox refuses the other app id: the rows were sent, not skipped');
  const back = await upload(sb, ledger, [csv], ['--rebind-ledger']);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(lastJson(back.stdout).uploaded, 4);
});

test('outputs that cannot be written, and a ledger that is not one, stop with exit 2 before anything, leaving no lock', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const csv = borrowFile(dir, 'p.csv', 3, 0);
  const ledger = join(dir, 'l.db');
  const bad: [string[], RegExp][] = [
    [['--rejects', '/nonexistent/r.csv'], /--rejects \/nonexistent\/r\.csv: cannot create it: directory \/nonexistent: no such file/],
    [['--rejects', csv], /is also an input file/],
    [['--rejects', ledger], /is the ledger/],
    [['--rejects', dir], /is a directory/],
  ];
  assert.equal((await upload(sb, ledger, [csv])).code, 0);
  symlinkSync(join(dir, 'elsewhere.csv'), join(dir, 'link.csv'));
  bad.push([['--rejects', join(dir, 'link.csv')], /symbolic link/]);
  for (const [flags, re] of bad) {
    const r = await upload(sb, ledger, [csv], flags);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(lastJson(r.stdout).exit_code, 2);
  }
  for (const [l, re] of [
    ['/nonexistent/dir/l.db', /cannot create it: directory \/nonexistent\/dir/],
    [dir, /is a directory/],
    [csv, /is not an alipay-sync ledger/],
  ] as [string, RegExp][]) {
    const r = await upload(sb, l, [csv]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  assert.equal(readFileSync(csv, 'utf8').startsWith('category_code'), true, 'the input is intact');
  const q = await runCli(['agreements', 'query', csv, ...sb.flags, '--ledger', join(dir, 'q.db'), '--out', '/nonexistent/x.csv']);
  assert.equal(q.code, 2, q.stderr);
  assert.match(q.stderr, /--out \/nonexistent\/x\.csv/);
  // No lock was left behind: a normal run on the same ledger goes through.
  const again = await upload(sb, ledger, [csv]);
  assert.equal(again.code, 0, again.stderr);
});

test('broken or missing --config is exit 2 naming the file (and the JSON error position); status | head -1 ends quietly', async () => {
  const dir = tempDir();
  const broken = writeFile(dir, 'c.json', '{\n  "qps": 20,\n  "ledger": oops\n}\n');
  const r = await runCli(['status', '--config', broken]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--config .*c\.json: not valid JSON at line 3/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const missing = await runCli(['status', '--config', join(dir, 'none.json'), '--json']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /none\.json: cannot read it \(no such file\)/);
  assert.deepEqual(lastJson(missing.stdout).exit_code, 2);

  const sb = await startSandbox();
  const ledger = join(dir, 'l.db');
  for (let i = 0; i < 3; i++) await upload(sb, ledger, [borrowFile(dir, `p${i}.csv`, 2, i * 10)]);
  const piped = await new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
    const child = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" status --ledger "${ledger}" | head -1`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  assert.equal(piped.stderr, '', 'no EPIPE stack trace');
  assert.equal(piped.code, 0);
  assert.match(piped.stdout, /^run\tdataset\tstatus\t/);
});

test('a header-only file is a warning and exit 1 unless --allow-empty; a dry run on an existing ledger leaves no run behind', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const empty = writeFile(dir, 'empty.csv', toCsv([]));
  const ledger = join(dir, 'l.db');
  const r = await upload(sb, ledger, [empty]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /empty\.csv: no data rows/);
  assert.deepEqual(lastJson(r.stdout).empty_files, [empty]);
  const ok = await upload(sb, ledger, [empty], ['--allow-empty']);
  assert.equal(ok.code, 0, ok.stderr);

  const csv = borrowFile(dir, 'p.csv', 5, 0);
  const before = JSON.parse((await runCli(['status', '--ledger', ledger, '--json'])).stdout) as { runs: unknown[] };
  const dry = await upload(sb, ledger, [csv], ['--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /run without --dry-run to send them/);
  const after = JSON.parse((await runCli(['status', '--ledger', ledger, '--json'])).stdout) as { runs: unknown[]; totals: unknown[] };
  assert.equal(after.runs.length, before.runs.length, 'no run row for a dry run');
  assert.deepEqual(after.totals, [], 'no row staged');
  // A dry run checks every setting the real run would.
  const noKeys = await runCli(['upload', 'borrow-entities', csv, '--dry-run', '--ledger', ledger]);
  assert.equal(noKeys.code, 2);
  assert.match(noKeys.stderr, /--app-id is required/);
});

test('a GBK file read without --encoding stops at once with the hint; a stray quote in row 11 of 3,000 still accounts for every row', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const gbk = writeFile(dir, 'gbk.csv', iconv.encode(toCsv(entities(50)), 'gbk'));
  const r = await upload(sb, join(dir, 'l.db'), [gbk], ['--rejects', join(dir, 'r.csv')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--encoding gbk/);
  assert.equal(existsSync(join(dir, 'r.csv')), false);
  const ok = await upload(sb, join(dir, 'l.db'), [gbk], ['--encoding', 'gbk']);
  assert.equal(ok.code, 0, ok.stderr);

  const rows = entities(3000);
  rows[10] = { ...rows[10]!, entity_name: '"爱心雨伞' }; // data row 11 opens a quote that never closes
  const text = toCsv(rows).replace('""爱心雨伞', '"爱心雨伞');
  const stray = writeFile(dir, 'stray.csv', text);
  const d = await upload(sb, join(dir, 'l2.db'), [stray], ['--dry-run']);
  const s = lastJson(d.stdout);
  assert.equal(s.read, 3000, d.stderr);
  assert.equal(s.rejected, 1);
  assert.match(d.stderr, /stray\.csv:12:/);
});

test('every command takes --verbose', async () => {
  for (const command of ['upload borrow-entities', 'agreements query', 'agreements effect', 'retry', 'rows', 'check', 'notify serve', 'status', 'report', 'sandbox', 'demo']) {
    const r = await runCli([...command.split(' '), '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--verbose/, `${command} --help lists --verbose`);
  }
});
