/**
 * Borrow points, the run itself (see upload-borrow-entities.test.ts for what arrives): the QPS ceiling, Ctrl-C,
 * the run lock, dry runs, bad usage, help, and interrupting a large staging.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { lastJson, runCli, spawnCli } from './helpers/cli.js';
import { startSandbox, type TestSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { waitUntil } from './helpers/wait.js';
import { COLUMNS, entity, entities, toCsv } from './helpers/borrow.js';

const METHOD = 'zhima.merchant.borrow.entity.upload';

function upload(sb: TestSandbox, dir: string, files: string[], extra: string[] = []) {
  return runCli(['upload', 'borrow-entities', ...files, ...sb.flags, '--ledger', join(dir, 'ledger.db'), '--json', '--backoff-ms', '5', ...extra]);
}

function addsUp(s: Record<string, unknown>) {
  const n = (k: string) => s[k] as number;
  assert.equal(n('read'), n('rejected') + n('superseded') + n('unchanged') + n('uploaded') + n('failed') + n('pending'), JSON.stringify(s));
}

test('the QPS ceiling holds at the gateway (measured from arrival times)', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const qps = 20;
  const csv = writeFile(dir, 'rows.csv', toCsv(entities(100)));
  const r = await upload(sb, dir, [csv], ['--qps', String(qps), '--concurrency', '8']);
  assert.equal(r.code, 0, r.stderr);
  const at = sb.gateway.requests.map((q) => q.at).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i]! - at[j]! >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  // Margin: the gateway stamps arrivals in this (busy) test process, which can only bunch them a little.
  assert.ok(most <= qps + 3, `${most} requests in one second at --qps ${qps}`);
  assert.ok(at[at.length - 1]! - at[0]! >= (99 * 1000) / qps - 250, 'the ceiling is a ceiling: 100 rows at 20/s take about 5 s');
});

test('Ctrl-C settles the requests in flight, records them and exits 130; the rerun finishes without re-sending', async () => {
  const sb = await startSandbox({ faults: { rates: { slow: 1 }, slowMs: 300 } });
  const dir = tempDir();
  const csv = writeFile(dir, 'rows.csv', toCsv(entities(80)));
  const args = ['upload', 'borrow-entities', csv, ...sb.flags, '--ledger', join(dir, 'ledger.db'), '--json', '--concurrency', '4', '--qps', '0'];
  const { child, done } = spawnCli(args);
  await waitUntil(() => sb.gateway.requests.length >= 8, { ms: 20_000, what: '8 requests at the gateway', child });
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  const s = lastJson(r.stdout);
  addsUp(s);
  assert.equal(s.status, 'interrupted');
  const sentBefore = sb.gateway.requests.length;
  assert.equal(s.uploaded, sentBefore, 'every request in flight was settled and recorded');
  sb.gateway.faults.set({});
  const rerun = await runCli(args);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.equal(lastJson(rerun.stdout).uploaded, 80 - sentBefore);
  assert.ok([...sb.gateway.requestCounts(METHOD).values()].every((c) => c === 1), 'nothing sent twice');
});

test('a second run on the same ledger refuses with exit 2 while the first is running', async () => {
  const sb = await startSandbox({ faults: { rates: { slow: 1 }, slowMs: 100 } });
  const dir = tempDir();
  const csv = writeFile(dir, 'rows.csv', toCsv(entities(40)));
  const args = ['upload', 'borrow-entities', csv, ...sb.flags, '--ledger', join(dir, 'ledger.db'), '--concurrency', '2'];
  const first = spawnCli(args);
  await waitUntil(() => sb.gateway.requests.length >= 2, { ms: 20_000, what: 'the first run to send', child: first.child });
  const second = await runCli(args);
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, /in use by another alipay-sync run/);
  assert.equal((await first.done).code, 0);
});

test('--dry-run plans (new, changed, stale, unchanged, rejected), sends nothing and leaves no run; status shows the real runs', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const f1 = writeFile(dir, 'a.csv', toCsv(entities(10)));
  assert.equal((await upload(sb, dir, [f1])).code, 0);
  const f2 = writeFile(dir, 'b.csv', toCsv([
    ...entities(4), ...entities(3, 4, { upload_time: '2024-06-01 00:00:00' }), ...entities(3, 7, { upload_time: '2024-01-01 00:00:00' }),
    ...entities(2, 50), entity(60, { longitude: 'east' }),
  ]));
  const r = await runCli(['upload', 'borrow-entities', f2, ...sb.flags, '--dry-run', '--ledger', join(dir, 'ledger.db'), '--json']);
  assert.equal(r.code, 1, r.stderr);
  const s = lastJson(r.stdout);
  addsUp(s);
  assert.deepEqual(s.plan, { new: 2, changed: 3 });
  assert.deepEqual([s.unchanged, s.superseded, s.rejected, s.pending, s.uploaded], [4, 3, 1, 5, 0]);
  assert.match(r.stderr, /nothing was sent/);
  assert.equal(sb.gateway.requests.length, 10);
  // the dry run changed nothing: the real run does exactly what it planned
  const real = await upload(sb, dir, [f2]);
  assert.equal(lastJson(real.stdout).uploaded, 5);

  const st = await runCli(['status', '--ledger', join(dir, 'ledger.db')]);
  assert.equal(st.code, 0, st.stderr);
  assert.doesNotMatch(st.stdout, /dry-run/, 'a dry run leaves no run behind');
  assert.match(st.stdout, /borrow-entities\s+uploaded\s+12/); // 10 + 2 new keys; the 3 changed ones replace theirs
});

test('bad usage stops before anything is sent, with exit 2', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const good = writeFile(dir, 'good.csv', toCsv(entities(3)));
  const noName = writeFile(dir, 'noname.csv', toCsv(entities(3), COLUMNS.filter((c) => c !== 'entity_name')));
  const missing = await upload(sb, dir, [good, noName]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /noname\.csv: missing required column entity_name/);
  for (const bad of [['--qps', 'fast'], ['--concurrency', '0'], ['--encoding', 'latin9'], ['--no-such-flag'], ['--sign-type', 'MD5']]) {
    const r = await upload(sb, dir, [good], bad);
    assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /error: /);
  }
  // An unknown option is named once, as typed (yargs alone says "no-such-flag, noSuchFlag").
  const typo = await upload(sb, dir, [good], ['--no_such_flag=1']);
  assert.match(typo.stderr, /error: unknown argument: --no-such-flag\n/);
  const stray = await runCli(['status', 'stray', '--ledger', join(dir, 'l.db')]);
  assert.deepEqual([stray.code, /error: unknown argument: "stray"\n/.test(stray.stderr)], [2, true], stray.stderr);
  const nofile = await upload(sb, dir, [join(dir, 'nope.csv')]);
  assert.equal(nofile.code, 2);
  assert.match(nofile.stderr, /nope\.csv/);
  const noCmd = await runCli([]);
  assert.equal(noCmd.code, 0, 'a bare alipay-sync shows its help');
  assert.match(noCmd.stdout, /Commands:/);
  assert.equal(sb.gateway.requests.length, 0);
});

test('--help teaches: every command has an example; config file and env are read, flags win', async () => {
  const help = await runCli(['upload', 'borrow-entities', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Examples:/);
  assert.match(help.stdout, /--qps/);
  for (const cmd of ['status', 'sandbox']) assert.match((await runCli([cmd, '--help'])).stdout, /Examples:/);

  const sb = await startSandbox();
  const dir = tempDir();
  const csv = writeFile(dir, 'rows.csv', toCsv(entities(2)));
  const config = writeFile(dir, 'config.json', JSON.stringify({ gateway: sb.url, 'app-id': '2021999999999999', 'private-key': sb.files.appPrivateKey, 'alipay-public-key': sb.files.alipayPublicKey }));
  // config's app id is wrong, env's is right: env wins over the config file
  const r = await runCli(['upload', 'borrow-entities', csv, '--config', config, '--ledger', join(dir, 'l.db')], { env: { ALIPAY_SYNC_APP_ID: sb.gateway.appId } });
  assert.equal(r.code, 0, r.stderr);
  // and a flag wins over env
  const r2 = await runCli(['upload', 'borrow-entities', csv, '--config', config, '--ledger', join(dir, 'l2.db'), '--app-id', '2021999999999998'], { env: { ALIPAY_SYNC_APP_ID: sb.gateway.appId } });
  assert.equal(r2.code, 3);
  assert.match(r2.stderr, /invalid-app-id/);
});

test('Ctrl-C while staging a large file: exit 130, nothing sent, and the next run continues from the ledger', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const { writeEntities } = await import('../bench/data.js');
  const big = join(dir, 'big.csv');
  // Ten batches: the interrupt comes after the first, long before staging ends; small enough to send in seconds.
  await writeEntities(big, 10_000, { seed: 9, repeatShare: 0 });
  const args = ['upload', 'borrow-entities', big, ...sb.flags, '--ledger', join(dir, 'ledger.db'), '--json', '--qps', '0', '--concurrency', '16', '--progress-interval', '0.2'];
  const { child, done } = spawnCli(args, { timeoutMs: 120_000 });
  // wait until staging has visibly started (a progress line), then interrupt
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      if (/staging borrow-entities [1-9]/.test(String(d))) resolve();
    });
    // an early exit fails the test at once instead of waiting for a line that never comes
    child.on('close', (code) => reject(new Error(`the CLI ended (exit ${code}) before staging showed progress`)));
  });
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /interrupted while staging/);
  const s = lastJson(r.stdout);
  assert.equal(s.status, 'interrupted');
  assert.ok((s.read as number) > 0 && (s.read as number) < 10_000, `read ${String(s.read)} before the interrupt`);
  assert.equal(sb.gateway.requests.length, 0, 'nothing sent');
  assert.equal(s.pending, s.read, 'what was read is staged and pending');

  // the next run: reads the file again and sends everything once
  const again = await runCli(args, { timeoutMs: 240_000 });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(lastJson(again.stdout).uploaded, 10_000);
  assert.equal(sb.gateway.requests.length, 10_000);
});
