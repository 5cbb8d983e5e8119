import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { Ledger, type LedgerTarget, type SendPolicy, type StageRow } from '../state/ledger.js';
import { meta } from './helpers/ledger.js';
import { tempDir } from './helpers/tmp.js';

const D = 'borrow-entities';
const PROD: LedgerTarget = { gateway: 'https://openapi.alipay.com/gateway.do', appId: '2021004100000000' };
const OTHER_APP: LedgerTarget = { ...PROD, appId: '2021004199999999' };

function row(key: string, snapshot: string, bizContent = `{"k":"${key}","t":"${snapshot}"}`): StageRow {
  return { key, snapshot, bizContent, file: 'f.csv', line: 2 };
}
function open(path = join(tempDir(), 'l.db'), key = randomBytes(32), rebind = false) {
  return new Ledger(path, { hashKey: key, rebind });
}
/** Stage rows in a run and record them all as uploaded, except the keys listed as refused. */
function runAndUpload(l: Ledger, rows: StageRow[], refused: string[] = [], policy: SendPolicy = 'snapshot'): number {
  const run = l.startRun(D, 't', [], false);
  l.stage(run, D, rows, policy);
  for (const p of l.claimPending(D, 0, 1000)) {
    l.recordResult(refused.includes(p.key)
      ? { rowid: p.rowid, runId: run, status: 'failed', retryable: false, attempts: 1, subCode: 'ILLEGAL_ARGUMENT' }
      : { rowid: p.rowid, runId: run, status: 'uploaded', attempts: 1, code: '10000' });
  }
  return run;
}

test('a ledger is bound to its first gateway and app: new, then same, whatever the merchant; an older ledger with runs is adopted', () => {
  const path = join(tempDir(), 'l.db');
  const l = open(path);
  assert.deepEqual(l.bindTarget({ ...PROD, appAuthToken: '202501BBtoken' }), { state: 'new' });
  assert.deepEqual(l.bindTarget({ ...PROD, appAuthToken: '202501BBtoken' }), { state: 'same' });
  // merchants are part of every row's key, not of the target: another merchant's rows are other rows
  assert.deepEqual(l.bindTarget({ ...PROD, appAuthToken: '202501BBother' }), { state: 'same' });
  assert.deepEqual(l.bindTarget(PROD), { state: 'same' });
  const m = meta(path);
  assert.equal(m.target_gateway, PROD.gateway);
  assert.equal(m.target_app_id, PROD.appId);
  assert.ok(!Object.values(m).some((v) => v.includes('202501BB')), 'no token is ever stored');
  l.close();

  const older = open();
  runAndUpload(older, [row('a', '1')]);
  assert.deepEqual(older.bindTarget(PROD), { state: 'adopted' });
  assert.deepEqual(older.bindTarget(PROD), { state: 'same' });
  older.close();
});

test('a ledger bound to one merchant by an older version is migrated: its rows belong to that merchant', () => {
  const path = join(tempDir(), 'l.db');
  const key = randomBytes(32);
  const l = open(path, key);
  l.bindTarget(PROD);
  runAndUpload(l, [row('a', '1')]);
  const merchant = l.hash('merchant\u0000202501BBtoken');
  l.close();
  // what version 5 had: the merchant in meta (a keyed hash of the token), none in the rows' keys
  const db = new Database(path);
  db.exec(`DROP INDEX records_pending; CREATE TABLE r5 AS SELECT * FROM records; DROP TABLE records;
    ALTER TABLE r5 DROP COLUMN merchant; ALTER TABLE r5 RENAME TO records;
    CREATE INDEX records_pending ON records (dataset) WHERE status = 'pending'; CREATE INDEX records_run ON records (run_id);
    ALTER TABLE attempts DROP COLUMN merchant; DROP TABLE learned_rates; DROP TABLE quota_stops;
    UPDATE meta SET value = '5' WHERE key = 'schema_version'`);
  db.prepare("INSERT INTO meta (key, value) VALUES ('target_merchant', ?)").run(merchant);
  db.close();
  const migrated = open(path, key);
  assert.equal(migrated.record(D, 'a'), undefined, 'not a row of no merchant');
  assert.equal(migrated.record(D, 'a', merchant)!.status, 'uploaded');
  const run = migrated.startRun(D, 't', [], false);
  assert.deepEqual(migrated.stage(run, D, [{ ...row('a', '1'), merchant }, row('a', '1')]), { superseded: 0, unchanged: 1, staged: 1, refused: 0 });
  assert.deepEqual(migrated.pendingByMerchant(D), [{ merchant: '', count: 1 }]);
  migrated.close();
});

test('a dry run against an unbound ledger stores no target', () => {
  const path = join(tempDir(), 'l.db');
  const l = open(path);
  assert.deepEqual(l.bindTarget(PROD, { dryRun: true }), { state: 'new' });
  assert.equal(meta(path).target_gateway, undefined);
  assert.deepEqual(l.bindTarget(OTHER_APP), { state: 'new' }, 'the dry run bound nothing');
  l.close();
});

test('rebind marks uploaded and pending rows as not sent to the new target (pending bodies dropped); failed rows forget the old target', () => {
  const path = join(tempDir(), 'l.db');
  const l = open(path);
  l.bindTarget(PROD);
  runAndUpload(l, [row('up', '1'), row('refused', '1'), row('changed', '1')], ['refused']);
  const r2 = l.startRun(D, 't', [], false);
  l.stage(r2, D, [row('changed', '2'), row('fresh', '1')]); // pending: a newer snapshot of an uploaded key, and a new key
  l.finishRun(r2, 'interrupted', 130, {});
  const result = l.bindTarget(OTHER_APP, { rebind: true });
  assert.equal(result.state, 'rebound');
  assert.equal(result.rebound, 1);
  assert.equal(result.previous, `${PROD.gateway} (app ${PROD.appId})`);
  const up = l.record(D, 'up')!;
  assert.equal(up.status, 'failed');
  assert.equal(up.retryable, 0);
  assert.equal(up.uploaded_snapshot, null);
  assert.equal(up.uploaded_hash, null);
  assert.equal(up.uploaded_at, null);
  assert.equal(up.last_code, 'REBOUND');
  assert.equal(up.last_sub_code, 'REBOUND');
  assert.equal(up.last_reason,
    `not sent to ${OTHER_APP.gateway} (app ${OTHER_APP.appId}) yet (ledger rebound from ${PROD.gateway} (app ${PROD.appId})): read its file again to send it`);
  const refused = l.record(D, 'refused')!;
  assert.equal(refused.status, 'failed');
  assert.equal(refused.last_sub_code, 'ILLEGAL_ARGUMENT');
  assert.equal(refused.uploaded_snapshot, null);
  // Rows pending for the old target (another app's or merchant's data) are not sent to the new one unless a
  // file names them again: they are marked like the uploaded ones, and their bodies are dropped.
  for (const key of ['changed', 'fresh']) {
    const rec = l.record(D, key)!;
    assert.equal(rec.status, 'failed', key);
    assert.equal(rec.last_sub_code, 'REBOUND', key);
    assert.equal(rec.biz_content, null, key);
    assert.equal(rec.uploaded_snapshot, null, 'what the old target holds says nothing of the new one');
  }
  assert.equal(l.countPending(D), 0);
  assert.deepEqual(l.failuresBySubCode(D).map((f) => [f.subCode, f.count]).sort(), [['ILLEGAL_ARGUMENT', 1], ['REBOUND', 3]]);
  assert.deepEqual(l.bindTarget(OTHER_APP), { state: 'same' });
  assert.equal(meta(path).target_app_id, OTHER_APP.appId);
  l.close();
});

for (const policy of ['snapshot', 'once'] as const) {
  test(`after a rebind, reading the file again stages the rows held as uploaded to the old target (policy ${policy})`, () => {
    const l = open();
    l.bindTarget(PROD);
    runAndUpload(l, [row('a', '1'), row('b', '1')], [], policy);
    // Before the rebind, the same file again sends nothing: that is what the rebind has to undo.
    const before = l.startRun(D, 't', [], false);
    assert.deepEqual(l.stage(before, D, [row('a', '1'), row('b', '1')], policy), { superseded: 0, unchanged: 2, staged: 0, refused: 0 });
    l.bindTarget(OTHER_APP, { rebind: true });
    const run = l.startRun(D, 't', [], false);
    assert.deepEqual(l.stage(run, D, [row('a', '1'), row('b', '1')], policy), { superseded: 0, unchanged: 0, staged: 2, refused: 0 });
    assert.deepEqual(l.stagedPlan(run, D), { new: 2, changed: 0 });
    assert.deepEqual(l.claimPending(D, 0, 10).map((p) => p.key), ['a', 'b']);
    l.close();
  });
}

test('after a key rebind the same target stays bound without marking uploaded rows (every row counts as changed anyway)', () => {
  const path = join(tempDir(), 'l.db');
  const l = open(path);
  l.bindTarget({ ...PROD, appAuthToken: 'tok' });
  runAndUpload(l, [row('a', '1')]);
  l.stage(l.startRun(D, 't', [], false), D, [{ ...row('m', '1'), merchant: l.hash('merchant\u0000tok') }]); // left pending
  l.close();
  // A dry run of that rebind first: its secret stays in memory; it binds and marks nothing.
  const dry = new Ledger(path, { hashKey: randomBytes(32), rebind: true, dryRun: true });
  assert.equal(dry.secretSource, 'rebound-in-memory');
  assert.deepEqual(dry.bindTarget({ ...PROD, appAuthToken: 'tok' }, { dryRun: true }), { state: 'same' });
  dry.close();
  const rekeyed = open(path, randomBytes(32), true);
  assert.equal(rekeyed.secretSource, 'rebound');
  assert.deepEqual(rekeyed.bindTarget({ ...PROD, appAuthToken: 'tok' }), { state: 'same' });
  assert.equal(rekeyed.record(D, 'a')!.status, 'uploaded');
  // a merchant's id was hashed with the replaced secret: its pending row could never meet its token again
  assert.deepEqual(rekeyed.failuresBySubCode(D).map((f) => [f.subCode, f.count]), [['REBOUND', 1]]);
  // and the content hash no longer matches: the row is sent once more when its file is read
  const run = rekeyed.startRun(D, 't', [], false);
  assert.deepEqual(rekeyed.stage(run, D, [row('a', '1')]), { superseded: 0, unchanged: 0, staged: 1, refused: 0 });
  rekeyed.close();
});
