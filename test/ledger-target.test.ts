import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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

test('a ledger is bound to its first target: new, then same; an older ledger with runs is adopted', () => {
  const path = join(tempDir(), 'l.db');
  const l = open(path);
  assert.deepEqual(l.bindTarget({ ...PROD, appAuthToken: '202501BBtoken' }), { state: 'new' });
  assert.deepEqual(l.bindTarget({ ...PROD, appAuthToken: '202501BBtoken' }), { state: 'same' });
  const m = meta(path);
  assert.equal(m.target_gateway, PROD.gateway);
  assert.equal(m.target_app_id, PROD.appId);
  assert.equal(m.target_merchant, l.hash('merchant\u0000202501BBtoken'));
  assert.ok(!Object.values(m).some((v) => v.includes('202501BBtoken')), 'the token itself is never stored');
  l.close();

  const older = open();
  runAndUpload(older, [row('a', '1')]);
  assert.deepEqual(older.bindTarget(PROD), { state: 'adopted' });
  assert.deepEqual(older.bindTarget(PROD), { state: 'same' });
  older.close();
});

test('another target is refused with SYNC_LEDGER_TARGET naming both and the ways out; a dry run too, even with rebind', () => {
  const path = join(tempDir(), 'l.db');
  const l = open(path);
  l.bindTarget({ ...PROD, appAuthToken: 'token-of-merchant-a' });
  runAndUpload(l, [row('a', '1')]);
  const merchantA = l.hash('merchant\u0000token-of-merchant-a').slice(0, 8);
  for (const [target, opts] of [[OTHER_APP, {}], [PROD, {}], [OTHER_APP, { dryRun: true }], [OTHER_APP, { dryRun: true, rebind: true }]] as const) {
    let message = '';
    assert.throws(() => l.bindTarget(target, opts), (e: Error & { code?: string }) => {
      message = e.message;
      return e.code === 'SYNC_LEDGER_TARGET';
    });
    assert.ok(message.includes(`${PROD.gateway} (app ${PROD.appId}, merchant #${merchantA})`), message);
    assert.ok(message.includes(`${target.gateway} (app ${target.appId}, no app_auth_token)`), message);
    assert.match(message, /use another --ledger for this target, or pass --rebind-ledger to bind this ledger to .* \(rows it holds as uploaded to .* are then marked as not sent to the new target, and are sent when their files are read again\)/);
    assert.ok(!message.includes('token-of-merchant-a'));
  }
  assert.equal(l.record(D, 'a')!.status, 'uploaded', 'nothing was marked');
  assert.equal(meta(path).target_app_id, PROD.appId, 'nothing was rebound');
  l.close();
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
  assert.equal(result.previous, `${PROD.gateway} (app ${PROD.appId}, no app_auth_token)`);
  const up = l.record(D, 'up')!;
  assert.equal(up.status, 'failed');
  assert.equal(up.retryable, 0);
  assert.equal(up.uploaded_snapshot, null);
  assert.equal(up.uploaded_hash, null);
  assert.equal(up.uploaded_at, null);
  assert.equal(up.last_code, 'REBOUND');
  assert.equal(up.last_sub_code, 'REBOUND');
  assert.equal(up.last_reason,
    `not sent to ${OTHER_APP.gateway} (app ${OTHER_APP.appId}, no app_auth_token) yet (ledger rebound from ${PROD.gateway} (app ${PROD.appId}, no app_auth_token)): read its file again to send it`);
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

test('after a key rebind the same target is adopted without marking rows (every row counts as changed anyway)', () => {
  const path = join(tempDir(), 'l.db');
  const l = open(path);
  l.bindTarget({ ...PROD, appAuthToken: 'tok' });
  runAndUpload(l, [row('a', '1')]);
  l.close();
  // A dry run of that rebind first: its secret stays in memory; it binds and marks nothing.
  const dry = new Ledger(path, { hashKey: randomBytes(32), rebind: true, dryRun: true });
  assert.equal(dry.secretSource, 'rebound-in-memory');
  assert.deepEqual(dry.bindTarget({ ...PROD, appAuthToken: 'tok' }, { dryRun: true }), { state: 'adopted' });
  dry.close();
  const rekeyed = open(path, randomBytes(32), true);
  assert.equal(rekeyed.secretSource, 'rebound');
  assert.deepEqual(rekeyed.bindTarget({ ...PROD, appAuthToken: 'tok' }), { state: 'adopted' });
  assert.deepEqual(rekeyed.bindTarget({ ...PROD, appAuthToken: 'tok' }), { state: 'same' });
  assert.equal(rekeyed.record(D, 'a')!.status, 'uploaded');
  // and the content hash no longer matches: the row is sent once more when its file is read
  const run = rekeyed.startRun(D, 't', [], false);
  assert.deepEqual(rekeyed.stage(run, D, [row('a', '1')]), { superseded: 0, unchanged: 0, staged: 1, refused: 0 });
  rekeyed.close();
});
