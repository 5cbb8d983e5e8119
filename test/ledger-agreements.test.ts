import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Ledger, type AgreementInput } from '../state/ledger.js';
import { SCHEMA_VERSION } from '../state/sqlite/schema.js';
import { beijingTime, orderKey, supersedes } from '../state/agreement-order.js';
import { tempDir } from './helpers/tmp.js';

const NO = '20240501000000000001';

function input(status: string, fields: Record<string, string> = {}): AgreementInput {
  return { agreement_no: NO, status, alipay_user_id: '2088101122675263', fields: { agreement_no: NO, status, ...fields } };
}

test('orderKey: the time a status began by the notice\'s own fields, then when Alipay said it', () => {
  const told = '2024-05-03 09:00:01';
  assert.deepEqual(orderKey('UNSIGN', { unsign_time: '2024-05-03 09:00:00', invalid_time: '2115-01-01 00:00:00' }, told), { since: '2024-05-03 09:00:00', told });
  // an unsign without unsign_time: invalid_time when it is not after notify_time, else notify_time
  assert.equal(orderKey('UNSIGN', { invalid_time: '2024-05-03 08:59:59' }, told).since, '2024-05-03 08:59:59');
  assert.equal(orderKey('UNSIGN', { invalid_time: '2115-01-01 00:00:00' }, told).since, told);
  assert.equal(orderKey('NORMAL', { sign_time: '2024-05-01 10:00:00', valid_time: '2024-05-01 10:00:05' }, told).since, '2024-05-01 10:00:05');
  assert.equal(orderKey('NORMAL', { sign_time: '2024-05-01 10:00:00' }, told).since, '2024-05-01 10:00:00');
  assert.equal(orderKey('TEMP', { sign_time: '2024-05-01 10:00:00', valid_time: '2024-05-01 10:00:05' }, told).since, '2024-05-01 10:00:00');
  assert.equal(orderKey('STOP', { sign_time: '2024-05-01 10:00:00', valid_time: '2024-05-01 10:00:05' }, told).since, told);
  // a time that is not a real yyyy-MM-dd HH:mm:ss is passed over
  assert.equal(orderKey('NORMAL', { valid_time: '2024-02-30 10:00:00', sign_time: '2024/05/01' }, told).since, told);
  assert.deepEqual(orderKey('STOP', {}, ''), { since: '', told: '' });
  // a state with no key (stored before keys existed) is replaced by any notice
  assert.equal(supersedes({ since: '', told: '' }, 'NORMAL', null, 'STOP'), true);
  assert.equal(supersedes({ since: '', told: '' }, 'NORMAL', { since: '2024-01-01 00:00:00', told: '' }, 'STOP'), false);
  // Beijing time whatever the host's zone
  assert.equal(beijingTime(Date.UTC(2024, 4, 2, 16, 30, 0)), '2024-05-03 00:30:00');
});

test('a query answer sets the order key: a notice older than what the query saw is kept, not applied', () => {
  let now = Date.UTC(2024, 4, 3, 4, 0, 0); // 2024-05-03 12:00:00 in Beijing
  const ledger = new Ledger(join(tempDir(), 'l.db'), { clock: () => now });
  try {
    ledger.upsertAgreement(input('STOP', { sign_time: '2024-05-01 10:00:00', valid_time: '2024-05-01 10:00:05' }), 'query', 1);
    assert.deepEqual([ledger.agreement(NO)!.since, ledger.agreement(NO)!.told], ['2024-05-03 12:00:00', '2024-05-03 12:00:00']);
    now += 60_000;
    // the sign notice of two days ago, resent now
    const stale = ledger.applyNotification('n1', input('NORMAL', { valid_time: '2024-05-01 10:00:05' }), '2024-05-03 12:00:30');
    assert.deepEqual(stale, { result: 'stale', changed: false });
    assert.equal(ledger.agreement(NO)!.status, 'STOP');
    // an unsign after the query is applied
    const unsign = ledger.applyNotification('n2', input('UNSIGN', { unsign_time: '2024-05-03 12:00:40' }), '2024-05-03 12:00:41');
    assert.deepEqual(unsign, { result: 'applied', changed: true });
    assert.deepEqual(ledger.applyNotification('n2', input('UNSIGN', { unsign_time: '2024-05-03 12:00:40' }), '2024-05-03 12:00:41'), { result: 'resend', changed: false });
    const a = ledger.agreement(NO)!;
    assert.equal(a.status, 'UNSIGN');
    assert.deepEqual(a.history.map((h) => [h.status, h.source, h.applied, h.notify_id]), [
      ['STOP', 'query', true, null], ['NORMAL', 'notify', false, 'n1'], ['UNSIGN', 'notify', true, 'n2'],
    ]);
  } finally {
    ledger.close();
  }
});

test('a ledger of schema 4 is migrated: its agreements keep their history and have no key, so the next notice applies', () => {
  const path = join(tempDir(), 'l.db');
  const fresh = new Ledger(path);
  fresh.upsertAgreement(input('NORMAL'), 'effect', 1);
  fresh.close();
  // what version 4 had: no key columns, no notice columns in the history
  const db = new Database(path);
  for (const sql of [
    'ALTER TABLE agreements DROP COLUMN state_since', 'ALTER TABLE agreements DROP COLUMN state_told',
    'ALTER TABLE agreement_history DROP COLUMN applied', 'ALTER TABLE agreement_history DROP COLUMN notify_id',
    'ALTER TABLE agreement_history DROP COLUMN notify_time', 'ALTER TABLE agreement_history DROP COLUMN since',
    "UPDATE agreements SET status = 'NORMAL'", "UPDATE meta SET value = '4' WHERE key = 'schema_version'",
  ]) db.exec(sql);
  db.close();
  const ledger = new Ledger(path);
  try {
    assert.ok(SCHEMA_VERSION >= 5, 'migrations 5 and later ran');
    const before = ledger.agreement(NO)!;
    assert.deepEqual([before.since, before.history.map((h) => [h.status, h.applied])], [null, [['NORMAL', true]]]);
    assert.deepEqual(ledger.applyNotification('n1', input('UNSIGN', { unsign_time: '2024-05-03 09:00:00' }), '2024-05-03 09:00:01'), { result: 'applied', changed: true });
    assert.equal(ledger.agreement(NO)!.status, 'UNSIGN');
  } finally {
    ledger.close();
  }
});

test('an agreement query\'s key stored hashed by an older version is adopted in clear: its history carries over, nothing counts as new', () => {
  const path = join(tempDir(), 'l.db');
  const l = new Ledger(path, { hashKey: Buffer.alloc(32, 7) });
  const D = 'agreement-queries';
  const key = '2088101122675263|GENERAL_WITHHOLDING_P|||';
  const old = `h:${l.hash(key)}`;
  // what versions before 0.2.1 wrote: every key hashed, answered in export session S
  const r1 = l.startRun(D, 'agreements query u.csv', ['u.csv'], false);
  l.stage(r1, D, [{ key: old, snapshot: 'S', bizContent: '{}', file: 'u.csv', line: 2 }]);
  const [row] = l.claimPending(D, 0, 10);
  l.recordResult({ rowid: row!.rowid, runId: r1, status: 'uploaded', attempts: 1, code: '10000' });
  // the same question in the same session (a continued export): unchanged, under its clear key
  const r2 = l.startRun(D, 'agreements query u.csv', ['u.csv'], false);
  const counts = l.stage(r2, D, [{ key, snapshot: 'S', bizContent: '{}', file: 'u.csv', line: 2, formerKey: old }]);
  assert.equal(counts.unchanged, 1, 'not asked again');
  assert.equal(l.countPending(D), 0);
  assert.equal(l.record(D, old), undefined);
  assert.equal(l.record(D, key)!.status, 'uploaded');
  // a key held in both forms keeps both (nothing is merged over a row of its own)
  l.stage(r2, D, [{ key: 'other', snapshot: 'S', bizContent: '{}', file: 'u.csv', line: 3 }, { key: 'h:x', snapshot: 'S', bizContent: '{}', file: 'u.csv', line: 4 }]);
  l.stage(r2, D, [{ key: 'other', snapshot: 'S', bizContent: '{}', file: 'u.csv', line: 3, formerKey: 'h:x' }]);
  assert.ok(l.record(D, 'h:x') && l.record(D, 'other'));
  l.close();
});
