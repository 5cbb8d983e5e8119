/**
 * Production safety, tried as a user types it: several files and globs, every spelling of a boolean, settings
 * from the environment and a shared config file, a ledger moved to another target, outputs that cannot be
 * written, pipes that close early, secrets and personal data, and exit codes that tell failures apart.
 * Every test spawns the CLI against a real loopback sandbox and real files; each is bounded in time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { CLI, lastJson, runCli, spawnCli } from './helpers/cli.js';
import { startSandbox, testKeys, type TestSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { entities, toCsv } from './helpers/borrow.js';
import { waitUntil } from './helpers/wait.js';
import { CONTRACT_COLUMNS, contract, idCard } from './helpers/people.js';
import { oneLine } from '../pipeline/sandbox/keys.js';

const METHOD = 'zhima.merchant.borrow.entity.upload';

function borrowFile(dir: string, name: string, n: number, from: number): string {
  return writeFile(dir, name, toCsv(entities(n, from)));
}

function sent(sb: TestSandbox, method = METHOD): number {
  return sb.gateway.requests.filter((r) => r.method === method).length;
}

function upload(sb: TestSandbox, ledger: string, files: string[], extra: string[] = [], env: Record<string, string> = {}) {
  return runCli(['upload', 'borrow-entities', ...files, ...sb.flags, '--ledger', ledger, '--json', '--no-progress', '--backoff-ms', '5', ...extra], { env });
}

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
  assert.match(st.stdout, /Recent runs/);
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
  assert.match(piped.stdout, /^Recent runs/);
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

test('secrets never reach output or the ledger, whatever the spelling; an ID number in a mislabelled column appears nowhere in clear; files are 0600', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const { keys, files } = testKeys();
  const body = oneLine(keys.appPrivateKey);
  const flatPem = `-----BEGIN PRIVATE KEY----- ${body} -----END PRIVATE KEY-----`;
  const ledger = join(dir, 'l.db');
  const csv = borrowFile(dir, 'p.csv', 2, 0);
  const base = ['upload', 'borrow-entities', csv, '--gateway', sb.url, '--app-id', sb.gateway.appId, '--alipay-public-key', files.alipayPublicKey, '--ledger', ledger, '--json'];
  const outputs: string[] = [];
  for (const keyArgs of [['--privateKey', body], ['--private_key', body], ['--private-key', flatPem], ['--private-key=' + body]]) {
    const r = await runCli([...base, ...keyArgs, '--app-auth-token', 'secret-token-0123456789']);
    outputs.push(r.stdout, r.stderr);
    assert.notEqual(r.code, 70, r.stderr);
  }
  // A typo'd option with a key after it: the parser's "Unknown argument" must not echo the key.
  const typo = await runCli([...base, '--privat-key', flatPem]);
  assert.equal(typo.code, 2);
  outputs.push(typo.stdout, typo.stderr);
  const status = await runCli(['status', '--ledger', ledger, '--json']);
  outputs.push(status.stdout);
  const chunk = body.slice(100, 140);
  for (const o of outputs) {
    assert.equal(o.includes(chunk), false, 'no part of the private key in output');
    assert.equal(o.includes('secret-token-0123456789'), false, 'no app_auth_token in output');
  }
  for (const f of readdirSync(dir).filter((n) => n.startsWith('l.db'))) {
    const bytes = readFileSync(join(dir, f)).toString('latin1');
    assert.equal(bytes.includes(chunk), false, `no key in ${f}`);
    assert.equal(bytes.includes('secret-token-0123456789'), false, `no token in ${f}`);
  }

  // Worker contracts: an ID number where the sign time should be, a phone in the payload of a rejected row.
  const id = idCard(42);
  const people = [contract(1), { ...contract(2), sign_time: id }, { ...contract(3), files: 'not json', payload: '13912345678' }];
  const wc = writeFile(dir, 'wc.csv', [CONTRACT_COLUMNS.join(','), ...people.map((p) => CONTRACT_COLUMNS.map((c) => `"${p[c].replaceAll('"', '""')}"`).join(','))].join('\n') + '\n');
  const rejects = join(dir, 'rejects.csv');
  const wl = join(dir, 'wc.db');
  const w = await runCli(['upload', 'worker-contracts', wc, ...sb.flags, '--ledger', wl, '--rejects', rejects, '--json']);
  assert.equal(w.code, 1, w.stderr);
  const everything = [w.stdout, w.stderr, readFileSync(rejects, 'utf8'), ...readdirSync(dir).filter((n) => n.startsWith('wc.db')).map((n) => readFileSync(join(dir, n)).toString('utf8'))];
  for (const text of everything) {
    assert.equal(text.includes(id), false, 'the ID number in the wrong column is nowhere in clear');
    assert.equal(text.includes('13912345678'), false, 'the phone in the wrong column is nowhere in clear');
  }
  for (const f of [rejects, wl, ledger]) assert.equal(statSync(f).mode & 0o777, 0o600, `${f} is 0600`);
});

test('sandbox: a busy port is exit 2 and leaves the running one\'s key files alone; keys in --keys-dir are reused; repeated --fault keeps every value', async () => {
  const dir = tempDir();
  const keysDir = join(dir, 'keys');
  const { child, done } = spawnCli(['sandbox', '--port', '0', '--keys-dir', keysDir, '--fault', 'drop=0.1', '--fault', 'slow=0.1'], { timeoutMs: 30_000 });
  let out = '';
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m && /Ctrl-C/.test(out)) resolve(m[1]!);
    });
    child.on('close', () => reject(new Error(`sandbox ended early: ${out}`)));
  });
  assert.match(out, /faults: drop=0\.1, slow=0\.1/);
  const before = readFileSync(join(keysDir, 'app_private_key.txt'), 'utf8');
  for (const f of readdirSync(keysDir)) assert.equal(statSync(join(keysDir, f)).mode & 0o777, 0o600, `${f} is 0600`);
  const second = await runCli(['sandbox', '--port', port, '--keys-dir', join(dir, 'other-keys')], { timeoutMs: 20_000 });
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, /port is in use/);
  assert.equal(existsSync(join(dir, 'other-keys')), false, 'no key file written before the port was bound');
  const third = await runCli(['sandbox', '--port', port, '--keys-dir', keysDir], { timeoutMs: 20_000 });
  assert.equal(third.code, 2);
  assert.equal(readFileSync(join(keysDir, 'app_private_key.txt'), 'utf8'), before, 'the running sandbox\'s keys are untouched');
  child.kill('SIGTERM');
  await done;
  const { child: again, done: againDone } = spawnCli(['sandbox', '--port', '0', '--keys-dir', keysDir], { timeoutMs: 20_000 });
  let out2 = '';
  again.stdout!.on('data', (d: Buffer) => {
    out2 += d.toString();
    if (/Ctrl-C/.test(out2)) again.kill('SIGTERM');
  });
  await againDone;
  assert.match(out2, /keys in /, 'existing keys are reused');
  assert.equal(readFileSync(join(keysDir, 'app_private_key.txt'), 'utf8'), before);
});

test('an unreadable input is exit 2 naming it; --json prints a JSON object as the last line on every exit', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const csv = borrowFile(dir, 'p.csv', 2, 0);
  chmodSync(csv, 0o000);
  const r = await upload(sb, join(dir, 'l.db'), [csv]);
  // root reads anything: then the run simply succeeds
  if (process.getuid?.() !== 0) {
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /p\.csv: permission denied/);
  }
  chmodSync(csv, 0o600);
  const usage = await runCli(['upload', 'borrow-entities', csv, '--json', '--qps', 'fast', ...sb.flags, '--ledger', join(dir, 'l.db')]);
  assert.equal(usage.code, 2);
  assert.deepEqual(lastJson(usage.stdout).error, { code: 'SYNC_CONFIG_INVALID', message: '--qps: expected a number, got "fast"' });
  const env = await runCli(['upload', 'borrow-entities', csv, '--json', ...sb.flags, '--ledger', join(dir, 'l.db')], { env: { ALIPAY_SYNC_QPS: '-3' } });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /ALIPAY_SYNC_QPS \(environment\) must be a number from 0/);
  const twice = await upload(sb, join(dir, 'l.db'), [csv], ['--qps', '5', '--qps', '0']);
  assert.equal(twice.code, 0, `a scalar given twice takes its last value: ${twice.stderr}`);
});

test('agreements query interrupted part-way: the next run asks only the users it did not finish and writes the whole export; --fresh asks everyone', async () => {
  const Q = 'alipay.user.agreement.batch.query';
  const P = 'GENERAL_WITHHOLDING_P';
  const users = Array.from({ length: 300 }, (_, i) => `2088${String(100000000000 + i)}`);
  const sb = await startSandbox({
    agreements: users.map((u, i) => ({ agreement_no: `2017${String(i).padStart(16, '0')}`, alipay_user_id: u, personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'NORMAL' })),
  });
  const dir = tempDir();
  const csv = writeFile(dir, 'users.csv', `alipay_user_id,personal_product_code\n${users.map((u) => `${u},${P}`).join('\n')}\n`);
  const out = join(dir, 'agreements.csv');
  const args = ['agreements', 'query', csv, ...sb.flags, '--ledger', join(dir, 'l.db'), '--out', out, '--json', '--no-progress'];
  const { child, done } = spawnCli([...args, '--qps', '100'], { timeoutMs: 60_000 });
  await waitUntil(() => sent(sb, Q) >= 60, { ms: 30_000, what: '60 questions at the gateway', child });
  child.kill('SIGINT');
  const first = await done;
  assert.equal(first.code, 130, first.stderr);
  const askedFirst = sent(sb, Q);
  assert.ok(askedFirst >= 60 && askedFirst < 300, `asked ${askedFirst}`);
  assert.equal(existsSync(out), false, 'an interrupted run writes no export');
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.partial')), [], 'and leaves no partial file');

  const second = await runCli([...args, '--qps', '0'], { timeoutMs: 60_000 });
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /continuing run 1 .* which did not finish/);
  assert.equal(sent(sb, Q) - askedFirst, 300 - askedFirst, 'only the users the interrupted run did not finish are asked');
  const s = lastJson(second.stdout);
  assert.deepEqual([s.read, s.skipped, s.uploaded], [300, askedFirst, 300 - askedFirst]);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(lines.length, 301, 'the export holds every user\'s agreement');
  assert.deepEqual(new Set(lines.slice(1).map((l) => l.split(',')[0])), new Set(users));
  assert.equal(statSync(out).mode & 0o777, 0o600);

  // The session is complete: the next run asks everyone again; so does --fresh.
  const third = await runCli([...args, '--qps', '0'], { timeoutMs: 60_000 });
  assert.equal(third.code, 0, third.stderr);
  assert.equal(sent(sb, Q), 600);
  const fresh = await runCli([...args, '--fresh', '--qps', '0'], { timeoutMs: 60_000 });
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.equal(sent(sb, Q), 900);
});

test('outputs never overwrite what the run reads or a special file: a hard link to the input, the key, the config, a device; the old rejects file survives until the new one is complete', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const { files } = testKeys();
  const csv = borrowFile(dir, 'p.csv', 3, 0);
  const ledger = join(dir, 'l.db');
  linkSync(csv, join(dir, 'hard.csv'));
  const keyCopy = join(dir, 'key.txt');
  copyFileSync(files.appPrivateKey, keyCopy);
  const config = writeFile(dir, 'c.json', JSON.stringify({ qps: 20 }));
  const flags = ['--gateway', sb.url, '--app-id', sb.gateway.appId, '--private-key', keyCopy, '--alipay-public-key', files.alipayPublicKey];
  const run = (extra: string[]) => runCli(['upload', 'borrow-entities', csv, ...flags, '--ledger', ledger, '--json', '--no-progress', ...extra]);
  for (const [extra, re] of [
    [['--rejects', join(dir, 'hard.csv')], /is also an input file/],
    [['--rejects', keyCopy], /is also the --private-key file/],
    [['--config', config, '--rejects', config], /is also the --config file/],
    [['--rejects', '/dev/null'], /is not a regular file/],
  ] as [string[], RegExp][]) {
    const r = await run(extra);
    assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  assert.match(readFileSync(join(dir, 'hard.csv'), 'utf8'), /^category_code/, 'the input is intact');
  assert.equal(readFileSync(keyCopy, 'utf8'), readFileSync(files.appPrivateKey, 'utf8'), 'the key is intact');
  assert.equal(statSync('/dev/null').isCharacterDevice(), true);
  const q = await runCli(['agreements', 'query', csv, ...flags, '--ledger', join(dir, 'q.db'), '--rejects', join(dir, 'both.csv'), '--out', join(dir, 'both.csv')]);
  assert.equal(q.code, 2);
  assert.match(q.stderr, /--out .*both\.csv is also --rejects/);
  // A run that stops on a broken setting after staging began never truncates the previous rejects file.
  const rejects = writeFile(dir, 'rejects.csv', 'last night\n');
  const bad = writeFile(dir, 'bad.csv', toCsv(entities(2, 50, { latitude: '99' })));
  const ok = await runCli(['upload', 'borrow-entities', bad, ...flags, '--ledger', ledger, '--rejects', rejects, '--dry-run']);
  assert.equal(ok.code, 1, ok.stderr);
  assert.match(readFileSync(rejects, 'utf8'), /^\uFEFFline,field,reason,file/, 'the rejects file is replaced once complete');
  assert.equal(statSync(rejects).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.partial')), []);
});

test('what a user may type by mistake: --dry-run false, a lower-case variable, an empty one, -, a UTF-8 file read as GBK, 0x10, a missing ledger for notify serve', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const csv = borrowFile(dir, 'p.csv', 2, 0);
  const ledger = join(dir, 'l.db');
  const sep = await upload(sb, ledger, [csv], ['--dry-run', 'false']);
  assert.equal(sep.code, 2);
  assert.match(sep.stderr, /write --dry-run=false/);
  const lower = await upload(sb, ledger, [csv], [], { ALIPAY_SYNC_dry_run: '1' });
  assert.equal(lower.code, 2);
  assert.match(lower.stderr, /ALIPAY_SYNC_dry_run: names are upper case: write ALIPAY_SYNC_DRY_RUN/);
  const empty = await upload(sb, ledger, [csv], ['--dry-run'], { ALIPAY_SYNC_QPS: '' });
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stderr, /ignoring environment variable ALIPAY_SYNC_QPS: it is set but empty/);
  const dash = await upload(sb, ledger, ['-']);
  assert.equal(dash.code, 2);
  assert.match(dash.stderr, /standard input \(-\) is not supported/);
  const hex = await upload(sb, ledger, [csv], ['--qps', '0x10']);
  assert.equal(hex.code, 2);
  const utf8 = await upload(sb, ledger, [csv], ['--encoding', 'gbk']);
  assert.equal(utf8.code, 2, utf8.stderr);
  assert.match(utf8.stderr, /--encoding utf8/);
  assert.equal(sent(sb), 0, 'nothing was sent by any of them');
  const zero = writeFile(dir, 'zero.csv', '');
  const z = await upload(sb, ledger, [zero, csv], ['--allow-empty']);
  assert.equal(z.code, 0, z.stderr);
  assert.deepEqual(lastJson(z.stdout).empty_files, [zero]);
  const n = await runCli(['notify', 'serve', '--port', '0', '--alipay-public-key', testKeys().files.alipayPublicKey, '--ledger', join(dir, 'typo.db')]);
  assert.equal(n.code, 2);
  assert.match(n.stderr, /no ledger at .*typo\.db/);
  assert.equal(existsSync(join(dir, 'typo.db')), false);
});

test('a ledger readable by others is made 0600 with its -wal; a summary that cannot be written to stdout is not a success', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const ledger = join(dir, 'l.db');
  assert.equal((await upload(sb, ledger, [borrowFile(dir, 'a.csv', 2, 0)])).code, 0);
  chmodSync(ledger, 0o644);
  const r = await upload(sb, ledger, [borrowFile(dir, 'b.csv', 2, 10)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /made it 0600/);
  for (const f of readdirSync(dir).filter((n) => n.startsWith('l.db'))) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  const full = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn('bash', ['-c', `"${process.execPath}" "${CLI}" status --ledger "${ledger}" > /dev/full`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
  assert.equal(full.code, 2, full.stderr);
  assert.match(full.stderr, /cannot write to standard output: ENOSPC/);
});
