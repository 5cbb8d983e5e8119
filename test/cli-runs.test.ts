/** Interrupted runs as a user sees them afterwards: the dry run's plan, the run's record, the demo's JSON. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { lastJson, runCli, spawnCli } from './helpers/cli.js';
import { startSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { entities, toCsv } from './helpers/borrow.js';
import { waitUntil } from './helpers/wait.js';

test('after an interrupted run, a dry run counts each pending row once (as the real run then sends it); a second Ctrl-C still records the run as interrupted', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const csv = writeFile(dir, 'p.csv', toCsv(entities(200)));
  const ledger = join(dir, 'l.db');
  const args = ['upload', 'borrow-entities', csv, ...sb.flags, '--ledger', ledger, '--json', '--no-progress'];
  const { child, done } = spawnCli([...args, '--qps', '20'], { timeoutMs: 30_000 });
  await waitUntil(() => sb.gateway.requests.length >= 10, { ms: 20_000, what: '10 requests', child });
  child.kill('SIGINT');
  assert.equal((await done).code, 130);
  const sent = sb.gateway.requests.length;

  const dry = await runCli([...args, '--dry-run']);
  const d = lastJson(dry.stdout);
  const plan = d.plan as { new: number; changed: number };
  assert.equal(plan.new + plan.changed, 200 - sent, 'the pending rows, once');
  assert.deepEqual(d.carried_over, { uploaded: 0, failed: 0, pending: 0 }, 'not counted again as left by earlier runs');
  assert.doesNotMatch(dry.stderr, /left pending by earlier runs would be sent too/);

  // Ctrl-C twice: quits at once, and status shows the run interrupted, not running. Answers take 5 s, so the
  // second Ctrl-C comes while the first is still settling (not as the process ends, when no handler is left).
  sb.gateway.faults.set({ rates: { slow: 1 }, slowMs: 5000 });
  const second = spawnCli([...args, '--qps', '5'], { timeoutMs: 30_000 });
  await waitUntil(() => sb.gateway.requests.length >= sent + 2, { ms: 20_000, what: 'the rerun to send', child: second.child });
  second.child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 50));
  second.child.kill('SIGINT');
  assert.equal((await second.done).code, 130);
  const st = JSON.parse((await runCli(['status', '--ledger', ledger, '--json'])).stdout) as { runs: { status: string; exit_code: number | null }[]; exit_code: number };
  assert.equal(st.runs[0]!.status, 'interrupted');
  assert.equal(st.runs[0]!.exit_code, 130);
  assert.equal(st.exit_code, 0);
});

test('demo --json ends with one JSON object (with exit_code); a wrong --examples folder is exit 2', async () => {
  const dir = tempDir();
  const r = await runCli(['demo', '--ledger', join(dir, 'd', 'd.db'), '--json'], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stderr);
  const last = lastJson(r.stdout);
  assert.equal(last.status, 'done');
  assert.equal(last.exit_code, 0);
  assert.equal((last.runs as unknown[]).length, 4);
  for (const line of r.stdout.trim().split('\n')) JSON.parse(line); // stdout is JSON only
  const bad = await runCli(['demo', '--ledger', join(dir, 'e', 'd.db'), '--examples', join(dir, 'nowhere')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no sample file there/);
});
