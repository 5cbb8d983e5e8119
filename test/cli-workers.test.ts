import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastJson, runCli, spawnCli } from './helpers/cli.js';
import { entities, toCsv } from './helpers/borrow.js';
import { freshSchema, pgUrl } from './helpers/postgres.js';
import { startSandbox, type TestSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { waitUntil } from './helpers/wait.js';
import { maxInWindow } from '../bench/harness.js';
import { addsUp } from './helpers/summary.js';

/**
 * Many workers, one PostgreSQL ledger, as a user runs them: separate processes of the CLI against one sandbox
 * gateway. Every row is uploaded once (bar the rows in flight at a worker that is killed), the shared rate limit
 * holds across them, and the rows of a worker killed with SIGKILL are finished by the others once its lease ends.
 */
const METHOD = 'zhima.merchant.borrow.entity.upload';

/** key → how many requests of it the gateway answered 10000 (uploaded) */
function successes(sb: TestSandbox): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of sb.gateway.requests) if (r.method === METHOD && r.code === '10000' && r.key) out.set(r.key, (out.get(r.key) ?? 0) + 1);
  return out;
}

async function ledgerFlags(): Promise<string[]> {
  return ['--ledger', await pgUrl(), '--schema', freshSchema('w')];
}

test('three workers upload one file under a quota: every row once, never above the ceiling in any second, summaries that add up', { timeout: 120_000 }, async () => {
  const sb = await startSandbox({ quota: 10 });
  const dir = tempDir();
  const rows = 60;
  const csv = writeFile(dir, 'rows.csv', toCsv(entities(rows)));
  const ledger = await ledgerFlags();
  const args = ['upload', 'borrow-entities', csv, ...sb.flags, ...ledger, '--qps', '10', '--concurrency', '4', '--json', '--backoff-ms', '20'];
  const results = await Promise.all([0, 1, 2].map(() => runCli(args, { timeoutMs: 100_000 })));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const summaries = results.map((r) => lastJson(r.stdout));
  for (const s of summaries) addsUp(s);
  // Each row belongs to the worker that staged it first; whoever sent it, every row ends uploaded, once.
  assert.equal(summaries.reduce((n, s) => n + (s.uploaded as number), 0), rows);
  const got = successes(sb);
  assert.equal(got.size, rows);
  assert.deepEqual([...new Set(got.values())], [1], 'no row uploaded twice');
  // The ceiling holds at the gateway: slots are handed out 1/rate apart plus 5%, so a window holds at most 10,
  // plus one at its edge when a loaded machine delays a request after its slot (as the in-process limiter's test
  // allows for arrival jitter); such a request may meet the quota's 40005, and is then retried, never doubled.
  const arrivals = sb.gateway.requests.filter((q) => q.method === METHOD).map((q) => q.at);
  const limited = sb.gateway.requests.filter((q) => q.code === '40005').length;
  assert.ok(maxInWindow(arrivals, 1000) <= 11, `at most 10 (+1 at an edge) requests in any second at the gateway (saw ${maxInWindow(arrivals, 1000)}, ${limited} answered 40005)`);
  assert.ok(limited <= 2, `${limited} answered 40005`);
  // a worker that sends rows another staged counts them as carried over: the sending was shared
  assert.ok(summaries.some((s) => (s.carried_over as { uploaded: number }).uploaded > 0), 'the work was shared');
});

test('a worker killed with SIGKILL mid-run: the others finish its rows after its lease; only its rows in flight can go twice', { timeout: 120_000 }, async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const rows = 90;
  const csv = writeFile(dir, 'rows.csv', toCsv(entities(rows)));
  const ledger = await ledgerFlags();
  const send = [...sb.flags, ...ledger, '--qps', '30', '--concurrency', '2', '--json', '--lease', '3'];
  // the first stages and starts sending; an extra `work` worker reads no file; then a second upload joins
  const victim = spawnCli(['upload', 'borrow-entities', csv, ...send], { timeoutMs: 100_000 });
  await waitUntil(() => sb.gateway.requests.length >= 10, { ms: 60_000, what: 'the first worker to send', child: victim.child });
  const worker = spawnCli(['work', 'borrow-entities', ...send], { timeoutMs: 100_000 });
  const second = spawnCli(['upload', 'borrow-entities', csv, ...send], { timeoutMs: 100_000 });
  await waitUntil(() => sb.gateway.requests.length >= 20, { ms: 60_000, what: 'more rows sent', child: victim.child });
  victim.child.kill('SIGKILL');
  const killed = await victim.done;
  assert.equal(killed.signal, 'SIGKILL');
  const [w, s] = await Promise.all([worker.done, second.done]);
  assert.equal(w.code, 0, w.stderr);
  assert.equal(s.code, 0, s.stderr);
  addsUp(lastJson(s.stdout));
  const got = successes(sb);
  assert.equal(got.size, rows, 'every row uploaded');
  const twice = [...got.values()].filter((n) => n > 1).length;
  assert.ok(twice <= 2, `at most the killed worker's requests in flight (--concurrency 2) went twice: ${twice}`);

  // The ledger agrees, and the next worker to start records the killed run as crashed.
  const after = await runCli(['work', 'borrow-entities', ...send]);
  assert.equal(after.code, 0, after.stderr);
  assert.match(after.stderr, /taking over the ledger from an earlier run .* its lease on host .* ran out/);
  const status = await runCli(['status', ...ledger, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const st = lastJson(status.stdout) as { totals: { status: string; rows: number }[]; runs: { status: string }[] };
  assert.deepEqual(st.totals.map((t) => [t.status, t.rows]), [['uploaded', rows]]);
  assert.ok(st.runs.some((r) => r.status === 'crashed'), JSON.stringify(st.runs.map((r) => r.status)));
});
