/**
 * Production safety, continued (see cli-safety.test.ts): secrets and personal data in output and the ledger, the
 * sandbox's own flags, unreadable inputs, resumed query exports, outputs that must never overwrite an input, and
 * mistakes a user may type. Every test spawns the CLI against a real loopback sandbox and real files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, linkSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, lastJson, runCli, spawnCli } from './helpers/cli.js';
import { startSandbox, testKeys } from './helpers/sandbox.js';
import { borrowFile, sent, upload } from './helpers/borrow-cli.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { entities, toCsv } from './helpers/borrow.js';
import { waitUntil } from './helpers/wait.js';
import { CONTRACT_COLUMNS, contract, idCard } from './helpers/people.js';
import { oneLine } from '../pipeline/sandbox/keys.js';

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
  assert.deepEqual([s.read, s.unchanged, s.uploaded], [300, askedFirst, 300 - askedFirst]);
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
