import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ledger, type StageRow } from '../state/ledger.js';
import { BackgroundStager } from '../state/sqlite/stage-worker.js';
import { tempDir } from './helpers/tmp.js';

const D = 'borrow-entities';
/** A dry run has no run row: it stages as run 0 (no real run has that id), inside a transaction rolled back. */
const DRY_RUN_ID = 0;

function row(key: string, snapshot: string, bizContent = `{"k":"${key}","t":"${snapshot}"}`): StageRow {
  return { key, snapshot, bizContent, file: 'f.csv', line: 2 };
}

/** Everything a dry run must leave as it was, read over a connection of its own. */
function contents(path: string) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return {
      records: db.prepare('SELECT * FROM records ORDER BY dataset, key').all(),
      rejects: db.prepare('SELECT * FROM rejects ORDER BY id').all(),
      runs: db.prepare('SELECT * FROM runs ORDER BY id').all(),
      attempts: (db.prepare('SELECT COUNT(*) AS n FROM attempts').get() as { n: number }).n,
    };
  } finally {
    db.close();
  }
}

function ledgerWithHistory(path: string): Ledger {
  const l = new Ledger(path, { hashKey: randomBytes(32) });
  const run = l.startRun(D, 't', [], false);
  l.stage(run, D, [row('a', '1'), row('b', '1')]);
  l.addRejects(run, D, [{ file: 'f.csv', line: 9, field: 'x', reason: 'bad' }]);
  for (const p of l.claimPending(D, 0, 10)) l.recordResult({ rowid: p.rowid, runId: run, status: 'uploaded', attempts: 1 });
  l.finishRun(run, 'done', 0, {});
  return l;
}

test('a dry run on the staging thread stages as run 0, plans, and leaves no record, reject or run behind', async () => {
  const path = join(tempDir(), 'l.db');
  const l = ledgerWithHistory(path);
  l.acquireLock();
  const before = contents(path);
  const stager = new BackgroundStager({ ledgerPath: path, hashSecret: l.hashSecret!, runId: DRY_RUN_ID, dataset: D, policy: 'snapshot', dryRun: true });
  let done: Awaited<ReturnType<BackgroundStager['finish']>>;
  try {
    await stager.stage({
      file: 'f.csv', keys: ['a', 'b', 'c', 'c'], snapshots: ['1', '1', '1', '2'],
      bizContents: [row("a", "1").bizContent, '{"b":"changed"}', '{"c":1}', '{"c":2}'], lines: [2, 3, 4, 5],
      rejects: [{ file: 'f.csv', line: 6, field: 'y', reason: 'missing' }, { file: 'f.csv', line: 7, field: 'z', reason: 'too long' }],
    });
    done = await stager.finish();
  } finally {
    await stager.abort();
  }
  assert.deepEqual(done.plan, { new: 1, changed: 1, carried: 0 }); // carried: pending rows of earlier runs this one did not take over
  assert.equal(done.unchanged, 1);
  assert.deepEqual(contents(path), before);
  assert.equal(l.countPending(D), 0);
  l.releaseLock();
  l.close();
});

test('the run lock stays renewable (without stalling) while a dry run holds its write transaction open', async () => {
  const path = join(tempDir(), 'l.db');
  const l = new Ledger(path, { hashKey: randomBytes(32), leaseMs: 40 });
  l.acquireLock();
  const stager = new BackgroundStager({ ledgerPath: path, hashSecret: l.hashSecret!, runId: DRY_RUN_ID, dataset: D, policy: 'snapshot', dryRun: true });
  try {
    await stager.stage({ file: 'f.csv', keys: ['a'], snapshots: ['1'], bizContents: ['{}'], lines: [2], rejects: [] });
    // the batch is staged once a later one can be handed over: wait for it within the window
    await stager.stage({ file: 'f.csv', keys: ['b'], snapshots: ['1'], bizContents: ['{}'], lines: [3], rejects: [] });
    const t = Date.now();
    await sleep(60);
    // A renewal that waited would wait busy_timeout (5 s) each beat; 4 s leaves a loaded machine room.
    assert.ok(Date.now() - t < 4_000, 'renewals skip their beat instead of waiting for the dry run\'s transaction');
    await stager.finish();
  } finally {
    await stager.abort();
  }
  assert.equal(l.countPending(D), 0);
  l.releaseLock();
  l.close();
});

test('stage, addRejects and stagedPlan work with run 0 inside a rolled-back transaction', () => {
  const path = join(tempDir(), 'l.db');
  const l = ledgerWithHistory(path);
  const before = contents(path);
  l.beginDryRun();
  const counts = l.stage(DRY_RUN_ID, D, [row('a', '1'), row('a', '1'), row('b', '2'), row('c', '1'), row('c', '0')]);
  // a: unchanged; its duplicate too; b: newer than what Alipay holds; c: new, and an older c superseded
  assert.deepEqual(counts, { superseded: 1, unchanged: 2, staged: 2, refused: 0 });
  l.addRejects(DRY_RUN_ID, D, [{ file: 'f.csv', line: 4, field: 'x', reason: 'bad' }]);
  assert.deepEqual(l.stagedPlan(DRY_RUN_ID, D), { new: 1, changed: 1 });
  l.rollbackDryRun();
  assert.deepEqual(contents(path), before);
  l.close();
});
