/**
 * Open ids in the ledger: principal_open_id and alipay_open_id read from effect and query answers and from
 * notifications, kept in their own columns (migration 7), never lost to a later word that lacks them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { agreementFromAnswer, effectSink } from '../pipeline/agreements.js';
import { NotifyServer } from '../pipeline/notify/server.js';
import { silentLogger } from '../pipeline/log.js';
import { Ledger } from '../state/ledger.js';
import { SCHEMA_VERSION } from '../state/sqlite/schema.js';
import { APP_ID, notice, signAsAlipay } from './helpers/notices.js';
import { testKeys } from './helpers/sandbox.js';
import { tempDir } from './helpers/tmp.js';

const NO = '20240501000000000001';
const OPEN = '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5';
const TIMES = { sign_time: '2024-05-01 10:00:00', valid_time: '2024-05-01 10:00:05', invalid_time: '2115-02-01 00:00:00' };

test('agreementFromAnswer: an OpenID answer\'s principal_open_id is the user\'s open id (a CARD principal); a notice\'s alipay_open_id is', () => {
  const effect = agreementFromAnswer({ agreement_no: NO, status: 'NORMAL', pricipal_type: 'CARD', principal_open_id: OPEN, ...TIMES })!;
  assert.deepEqual([effect.alipay_user_id, effect.alipay_open_id, effect.principal_open_id], [undefined, OPEN, OPEN]);
  const customer = agreementFromAnswer({ agreement_no: NO, status: 'NORMAL', pricipal_type: 'CUSTOMER', principal_open_id: 'c1' })!;
  assert.deepEqual([customer.alipay_open_id, customer.principal_open_id], [undefined, 'c1'], 'a CUSTOMER principal is not the account');
  const notified = agreementFromAnswer({ agreement_no: NO, status: 'NORMAL', alipay_open_id: OPEN, notify_type: 'dut_user_sign' })!;
  assert.deepEqual([notified.alipay_open_id, notified.principal_open_id], [OPEN, undefined]);
  const old = agreementFromAnswer({ agreement_no: NO, status: 'NORMAL', pricipal_type: 'CARD', principal_id: '2088101122675263' })!;
  assert.deepEqual([old.alipay_user_id, old.alipay_open_id, old.principal_open_id], ['2088101122675263', undefined, undefined]);
});

test('the ledger keeps both open ids in their columns; a later word without them (a notice) keeps what it has', () => {
  const path = join(tempDir(), 'l.db');
  const ledger = new Ledger(path);
  try {
    ledger.upsertAgreement(agreementFromAnswer({ agreement_no: NO, status: 'TEMP', pricipal_type: 'CARD', principal_open_id: OPEN, sign_time: TIMES.sign_time })!, 'query', 1);
    const a = ledger.agreement(NO)!;
    assert.deepEqual([a.alipay_user_id, a.alipay_open_id, a.principal_open_id], [null, OPEN, OPEN]);
    assert.equal(a.fields.principal_open_id, OPEN);
    ledger.applyNotification('n1', agreementFromAnswer({ agreement_no: NO, status: 'NORMAL', ...TIMES })!, '2024-05-01 10:00:06');
    const b = ledger.agreement(NO)!;
    assert.deepEqual([b.status, b.alipay_open_id, b.principal_open_id], ['NORMAL', OPEN, OPEN]);
  } finally {
    ledger.close();
  }
});

test('a ledger of schema 6 (before open ids) is migrated: its agreements stay, with no open ids until Alipay names one', () => {
  const path = join(tempDir(), 'l.db');
  const fresh = new Ledger(path);
  fresh.upsertAgreement({ agreement_no: NO, status: 'NORMAL', alipay_user_id: '2088101122675263', fields: { agreement_no: NO, status: 'NORMAL' } }, 'effect', 1);
  fresh.close();
  const db = new Database(path);
  for (const sql of ['ALTER TABLE agreements DROP COLUMN alipay_open_id', 'ALTER TABLE agreements DROP COLUMN principal_open_id', "UPDATE meta SET value = '6' WHERE key = 'schema_version'"]) db.exec(sql);
  db.close();
  const ledger = new Ledger(path);
  try {
    assert.ok(SCHEMA_VERSION >= 7);
    const before = ledger.agreement(NO)!;
    assert.deepEqual([before.status, before.alipay_user_id, before.alipay_open_id, before.principal_open_id], ['NORMAL', '2088101122675263', null, null]);
    ledger.upsertAgreement({ agreement_no: NO, status: 'NORMAL', alipay_open_id: OPEN, principal_open_id: OPEN, fields: { agreement_no: NO, status: 'NORMAL' } }, 'query', 2);
    assert.deepEqual([ledger.agreement(NO)!.alipay_user_id, ledger.agreement(NO)!.alipay_open_id], ['2088101122675263', OPEN]);
  } finally {
    ledger.close();
  }
});

test('notify serve: a dut_user_sign that names the user by alipay_open_id (an app on OpenID) is verified and its open id stored', async () => {
  const { keys } = testKeys();
  const path = join(tempDir(), 'ledger.db');
  const server = new NotifyServer({ ledgerPath: path, alipayPublicKey: keys.alipayPublicKey, appId: APP_ID, logger: silentLogger });
  try {
    const fields: Record<string, string> = { ...notice({ agreement_no: NO, status: 'NORMAL', notify_time: '2024-05-01 10:00:06', extra: TIMES }), alipay_open_id: OPEN };
    delete fields.alipay_user_id;
    assert.equal(server.handle(signAsAlipay(fields, keys.alipayPrivateKey)).result, 'applied');
  } finally {
    await server.stop();
  }
  const ledger = new Ledger(path);
  try {
    const a = ledger.agreement(NO)!;
    assert.deepEqual([a.status, a.alipay_user_id, a.alipay_open_id, a.fields.alipay_open_id], ['NORMAL', null, OPEN, OPEN]);
  } finally {
    ledger.close();
  }
});

test('the read-back of an effect row by open id asks alipay.user.agreement.query by that open id', () => {
  const payload = JSON.stringify({ alipay_open_id: OPEN, sign_scene: 'INDUSTRY|MEDICAL', external_agreement_no: 'EXT1' });
  const q = effectSink().readBack!({ rowid: 1, run_id: 1, merchant: '', key: 'ext:EXT1|INDUSTRY|MEDICAL', snapshot: '', biz_content: payload, attempts: 1, file: null, line: null })!;
  assert.equal(q.method, 'alipay.user.agreement.query');
  assert.deepEqual(JSON.parse(q.bizContent), { alipay_open_id: OPEN, sign_scene: 'INDUSTRY|MEDICAL', external_agreement_no: 'EXT1' });
});
