import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Ledger, type StageRow } from '../state/ledger.js';
import { tempDir } from './helpers/tmp.js';

const D = 'borrow-entities';
function row(key: string, snapshot: string, bizContent = `{"k":"${key}","t":"${snapshot}"}`, line = 2): StageRow {
  return { key, snapshot, bizContent, file: 'f.csv', line };
}
function open() {
  // key material as the CLI passes it (the app private key's DER bytes): here any random bytes do
  return new Ledger(join(tempDir(), 'ledger.db'), { hashKey: randomBytes(32) });
}
function upload(l: Ledger, run: number) {
  for (const r of l.claimPending(D, 0, 1000)) l.recordResult({ rowid: r.rowid, runId: run, status: 'uploaded', attempts: 1, code: '10000' });
}

test('within a run the newest snapshot per key wins, whatever the order; duplicates are superseded', () => {
  const l = open();
  const run = l.startRun(D, 't', [], false);
  const c = l.stage(run, D, [row('a', '2024-01-02 00:00:00'), row('a', '2024-01-01 00:00:00'), row('a', '2024-01-03 00:00:00'), row('b', '2024-01-01 00:00:00'), row('b', '2024-01-01 00:00:00')]);
  assert.deepEqual(c, { superseded: 3, unchanged: 0, staged: 2, refused: 0 });
  const pending = l.claimPending(D, 0, 10);
  assert.deepEqual(pending.map((p) => [p.key, p.snapshot]), [['a', '2024-01-03 00:00:00'], ['b', '2024-01-01 00:00:00']]);
  assert.deepEqual(l.stagedPlan(run, D), { new: 2, changed: 0 });
  l.close();
});

test('across runs: unchanged skipped, older superseded, newer and changed content staged', () => {
  const l = open();
  const r1 = l.startRun(D, 't', [], false);
  l.stage(r1, D, [row('a', '2024-01-02 00:00:00'), row('b', '2024-01-02 00:00:00'), row('c', '2024-01-02 00:00:00')]);
  upload(l, r1);
  const r2 = l.startRun(D, 't', [], false);
  const c = l.stage(r2, D, [
    row('a', '2024-01-02 00:00:00'), // unchanged
    row('b', '2024-01-01 00:00:00'), // older than what Alipay holds
    row('c', '2024-01-02 00:00:00', '{"changed":true}'), // same snapshot, new content
    row('d', '2024-01-01 00:00:00'), // new key
  ]);
  assert.deepEqual(c, { superseded: 1, unchanged: 1, staged: 2, refused: 0 });
  assert.deepEqual(l.stagedPlan(r2, D), { new: 1, changed: 1 });
  l.close();
});

test('uploaded rows keep no biz_content; failed rows keep it only when retryable', () => {
  const l = open();
  const run = l.startRun(D, 't', [], false);
  l.stage(run, D, [row('a', '1'), row('b', '1'), row('c', '1')]);
  const [a, b, c] = l.claimPending(D, 0, 10);
  l.recordResult({ rowid: a!.rowid, runId: run, status: 'uploaded', attempts: 1 });
  l.recordResult({ rowid: b!.rowid, runId: run, status: 'failed', retryable: false, attempts: 1, subCode: 'ILLEGAL_ARGUMENT' });
  l.recordResult({ rowid: c!.rowid, runId: run, status: 'failed', retryable: true, attempts: 5, code: '20000' });
  assert.equal(l.record(D, 'a')!.biz_content, null);
  assert.equal(l.record(D, 'b')!.biz_content, null);
  assert.notEqual(l.record(D, 'c')!.biz_content, null);
  assert.deepEqual(l.runOutcomes(run, D), { pending: 0, uploaded: 1, failed: 2 });
  // the next run retries the row that only met gateway trouble
  assert.equal(l.reviveRetryable(D), 1);
  assert.deepEqual(l.claimPending(D, 0, 10).map((p) => p.key), ['c']);
  assert.deepEqual(l.failuresBySubCode(D).map((f) => [f.subCode, f.count]), [['ILLEGAL_ARGUMENT', 1]]);
  l.close();
});

test('a leftover pending row from an earlier run is taken over when its row comes again, and carried over otherwise', () => {
  const l = open();
  const r1 = l.startRun(D, 't', [], false);
  l.stage(r1, D, [row('a', '1'), row('b', '1')]);
  const r2 = l.startRun(D, 't', [], false);
  assert.deepEqual(l.stage(r2, D, [row('a', '1')]), { superseded: 0, unchanged: 0, staged: 1, refused: 0 });
  const pending = l.claimPending(D, 0, 10);
  // a was taken over by r2; b is still r1's: r2 sends it as carried over
  assert.deepEqual(pending.map((p) => [p.key, p.run_id]), [['a', r2], ['b', r1]]);
  for (const p of pending) l.recordResult({ rowid: p.rowid, runId: r2, status: 'uploaded', attempts: 1 });
  assert.deepEqual(l.runOutcomes(r2, D), { pending: 0, uploaded: 1, failed: 0 });
  assert.deepEqual(l.runOutcomes(r1, D), { pending: 0, uploaded: 1, failed: 0 });
  l.close();
});

test('a dry run computes the plan and leaves no trace', () => {
  const l = open();
  const r1 = l.startRun(D, 't', [], true);
  l.beginDryRun();
  l.stage(r1, D, [row('a', '1'), row('b', '1')]);
  assert.deepEqual(l.stagedPlan(r1, D), { new: 2, changed: 0 });
  l.rollbackDryRun();
  assert.equal(l.countPending(D), 0);
  assert.equal(l.recentRuns(1)[0]!.id, r1, 'the run itself is recorded');
  l.close();
});

test('one run at a time: a live holder refuses, a dead one (kill -9) is taken over and its run marked crashed', () => {
  const path = join(tempDir(), 'l.db');
  // Two runs in this process stand for two processes: the second sees the first's pid with another start time
  // only when told so; here it is the same process start, so "alive" decides.
  const first = new Ledger(path, { host: 'h1', procStart: () => 'start-1' });
  assert.deepEqual(first.acquireLock(), { tookOver: null });
  const run = first.startRun(D, 't', [], false);
  const second = new Ledger(path, { host: 'h2', procStart: () => 'start-1', leaseMs: 60_000 });
  assert.throws(() => second.acquireLock(), (e: Error & { code?: string }) => e.code === 'SYNC_LEDGER_BUSY' && /in use by another alipay-sync run/.test(e.message));
  const third = new Ledger(path, { host: 'h1', procStart: () => 'start-1', isAlive: () => false });
  const { tookOver } = third.acquireLock();
  assert.deepEqual({ ...tookOver, since: undefined }, { pid: process.pid, host: 'h1', since: undefined, reason: 'dead' });
  assert.equal(third.recentRuns(1)[0]!.id, run);
  assert.equal(third.recentRuns(1)[0]!.status, 'crashed');
  third.releaseLock();
  assert.equal(third.lockHolder(), null);
  for (const l of [first, second, third]) l.close();
});

test('content hashes are keyed per ledger', () => {
  const a = open();
  const b = open();
  assert.notDeepEqual(a.hash('same'), b.hash('same'));
  assert.deepEqual(a.hash('same'), a.hash('same'));
  a.close();
  b.close();
});

test('a ledger of schema 5 (request bodies in records.payload) is migrated: pending bodies are kept as biz_content and sent', () => {
  const path = join(tempDir(), 'ledger.db');
  const key = randomBytes(32);
  const l = new Ledger(path, { hashKey: key });
  const run = l.startRun(D, 't', [], false);
  l.stage(run, D, [row('a', '1', '{"a":1}')]);
  l.finishRun(run, 'interrupted', 130, {});
  l.close();
  // what version 5 had: the column called payload
  const db = new Database(path);
  db.exec("ALTER TABLE records RENAME COLUMN biz_content TO payload; UPDATE meta SET value = '5' WHERE key = 'schema_version'");
  db.close();
  const again = new Ledger(path, { hashKey: key });
  assert.deepEqual(again.claimPending(D, 0, 10).map((p) => [p.key, p.biz_content]), [['a', '{"a":1}']]);
  again.close();
});
