import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { targetGateway } from '../pipeline/config.js';
import { EXIT } from '../pipeline/errors.js';
import { runUpload } from '../pipeline/run/index.js';
import { datasets } from '../sources/index.js';
import { Ledger } from '../state/ledger.js';
import { entities, toCsv } from './helpers/borrow.js';
import { lastJson, runCli } from './helpers/cli.js';
import { startSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';

/** Quotas: a spent daily quota (exit 4, resume after the reset, --wait-for-quota), and rates learned for the next run. */

const METHOD = 'zhima.merchant.borrow.entity.upload';

test('a spent daily quota: exit 4, rows pending, the summary and status say when it resets; after the reset the same command finishes', async () => {
  const sb = await startSandbox({ dailyQuota: 6 });
  const dir = tempDir();
  const csv = writeFile(dir, 'points.csv', toCsv(entities(15)));
  const ledger = join(dir, 'ledger.db');
  const args = ['upload', 'borrow-entities', csv, ...sb.flags, '--ledger', ledger, '--json', '--backoff-ms', '5'];
  const r = await runCli([...args, '--wait-for-quota=no']);
  assert.equal(r.code, 4, r.stderr);
  const s = lastJson(r.stdout);
  assert.deepEqual([s.status, s.uploaded, s.pending, s.failed, s.exit_code], ['quota-spent', 6, 9, 0, 4]);
  const quota = s.quota as { resets_at: string; resets_at_beijing: string; resume: string };
  assert.match(quota.resets_at, /T16:00:00\.000Z$/, '00:00 Beijing time');
  assert.ok(Date.parse(quota.resets_at) > Date.now() && Date.parse(quota.resets_at) <= Date.now() + 24 * 3600_000);
  assert.match(quota.resume, /run the same command again after \d{4}-\d\d-\d\d 00:00 Beijing time \(16:00 UTC\), or now with --wait-for-quota/);
  assert.match(r.stderr, /the daily quota of zhima\.merchant\.borrow\.entity\.upload is spent \(Alipay says the day's quota is spent/);
  const status = await runCli(['status', '--ledger', ledger]);
  assert.match(status.stdout, /\tquota-spent(\t[^\t]*){3}\t4\t15\t0\t0\t0\t6\t0\t9\t/);
  assert.match(status.stdout, /^quota_merchant\tmethod\tresets_at\treason\nno merchant\tzhima\.merchant\.borrow\.entity\.upload\t\d{4}-\d\d-\d\dT\d\d:00:00/m);
  const json = lastJson((await runCli(['status', '--ledger', ledger, '--json'])).stdout);
  assert.match((json.quota_spent as { resets_at_beijing: string }[])[0]!.resets_at_beijing, /^\d{4}-\d\d-\d\d 00:00 Beijing time \(16:00 UTC\)$/);

  // Before the reset, a rerun asks once and stops again (no minute of 40005s to find it out).
  const before = sb.gateway.requests.length;
  const again = await runCli(args);
  assert.equal(again.code, 4, again.stderr);
  assert.match(again.stderr, /its daily quota was found spent until .*; asking once whether it is back/);
  assert.ok(sb.gateway.requests.length - before <= 8, `${sb.gateway.requests.length - before} requests (at most one per slot in flight)`);

  // The gateway's day turns (its reset switch: nobody waits for midnight); the same command finishes the job.
  sb.gateway.quota.resetDay();
  sb.gateway.quota.limits.perDay = 100;
  const after = await runCli(args);
  assert.equal(after.code, 0, after.stderr);
  const done = lastJson(after.stdout);
  assert.deepEqual([done.unchanged, done.uploaded, done.pending], [6, 9, 0]);
  const cleared = lastJson((await runCli(['status', '--ledger', ledger, '--json'])).stdout);
  assert.deepEqual(cleared.quota_spent, [], 'the stop is forgotten once the quota answered again');
});

test('--wait-for-quota sleeps until the reset with a progress line and goes on (the run\'s clock and sleep moved, not waited)', async () => {
  const sb = await startSandbox({ dailyQuota: 4 });
  const dir = tempDir();
  const csv = writeFile(dir, 'points.csv', toCsv(entities(10)));
  let offset = 0;
  const slept: number[] = [];
  const lines: string[] = [];
  const log = (m: string) => void lines.push(m);
  const { summary, exitCode } = await runUpload({
    dataset: datasets['borrow-entities']!, files: [csv], ledgerPath: join(dir, 'ledger.db'), client: sb.client(),
    target: { gateway: targetGateway(sb.url), appId: sb.gateway.appId }, hashKey: sb.keys.appPrivateKey.export({ type: 'pkcs8', format: 'der' }),
    logger: { debug() {}, info: log, warn: log, error: log }, waitForQuota: true, backoffMs: 5,
    clock: () => Date.now() + offset,
    // "sleeping" until the reset: the run's clock moves on by what it asked, and the gateway's day turns
    sleep: async (ms) => {
      slept.push(ms);
      offset += ms;
      sb.gateway.quota.resetDay();
    },
  });
  assert.equal(exitCode, EXIT.OK, lines.join('\n'));
  assert.deepEqual([summary.status, summary.uploaded, summary.pending], ['done', 10, 0]);
  assert.ok(slept.length >= 2, `slept ${slept.length} time(s): the quota of 4 was spent twice for 10 rows`);
  assert.ok(slept.every((ms) => ms > 0 && ms <= 10 * 60_000), 'in steps of at most 10 minutes');
  assert.ok(lines.some((l) => /^waiting for the daily quota of the app: it resets at \d{4}-\d\d-\d\d 00:00 Beijing time \(16:00 UTC\), in \d+ (h|min|s)/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /the daily quota is back: sending for no merchant again/.test(l)), lines.join('\n'));
});

test('the rate learned from 40005 is kept in the ledger and is where the next run starts', async () => {
  // A quota far below --qps: even a client slowed by a busy machine overshoots it by far in its first second.
  const sb = await startSandbox({ quota: 5 });
  const dir = tempDir();
  const ledger = join(dir, 'ledger.db');
  const run = (file: string) => runCli(['upload', 'borrow-entities', file, ...sb.flags, '--ledger', ledger, '--json', '--qps', '500', '--backoff-ms', '5']);
  const first = await run(writeFile(dir, 'a.csv', toCsv(entities(20))));
  assert.equal(first.code, 0, first.stderr);
  const rate1 = (lastJson(first.stdout).merchants as { rates: { quota: number | null; throttled: number }[] }[])[0]!.rates[0]!;
  assert.ok(rate1.throttled >= 1, 'the first run, starting at --qps 500, met the quota of 5');
  const l = new Ledger(ledger, { readonly: true });
  const learned = l.learnedRates(sb.gateway.appId, METHOD);
  l.close();
  assert.equal(learned.length, 1);
  assert.ok(learned[0]!.rate >= 4 && learned[0]!.rate <= 5.5 && learned[0]!.quota !== null, `learned ${JSON.stringify(learned[0])}`);

  const before = sb.gateway.requests.length;
  const second = await run(writeFile(dir, 'b.csv', toCsv(entities(12, 100))));
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, new RegExp(`${METHOD}: starting at ${(learned[0]!.quota! * 0.99).toFixed(1)}/s, as an earlier run learned \\(its quota measured at ${learned[0]!.quota}/s\\)`));
  // paced at the learned rate from its first request (not at --qps 500): its first 11 requests span about 2 s
  const at = sb.gateway.requests.slice(before).map((q) => q.at);
  assert.ok(at[10]! - at[0]! >= 1500, `the second run's first 11 requests came within ${at[10]! - at[0]!} ms`);
  const rate2 = (lastJson(second.stdout).merchants as { rates: { throttled: number }[] }[])[0]!.rates[0]!;
  assert.ok(rate2.throttled <= 2, `the second run met the quota ${rate2.throttled} time(s)`);
});
