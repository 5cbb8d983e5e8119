import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { NotifyServer } from '../pipeline/notify/server.js';
import { silentLogger } from '../pipeline/log.js';
import { Ledger } from '../state/ledger.js';
import { APP_ID, formBody, notice, postForm, signAsAlipay } from './helpers/notices.js';
import { testKeys } from './helpers/sandbox.js';
import { tempDir } from './helpers/tmp.js';

const { keys } = testKeys();
const NO = '20240501000000000001';

/** Signed dut_user_sign / dut_user_unsign forms, as Alipay sends them. */
function signed(o: Parameters<typeof notice>[0]): Record<string, string> {
  return signAsAlipay(notice(o), keys.alipayPrivateKey);
}

const SIGN_FIELDS = { sign_time: '2024-05-01 10:00:00', valid_time: '2024-05-01 10:00:05', invalid_time: '2115-02-01 00:00:00' };

function withServer<T>(fn: (server: NotifyServer, path: string) => Promise<T> | T): Promise<T> {
  const path = join(tempDir(), 'ledger.db');
  const server = new NotifyServer({ ledgerPath: path, alipayPublicKey: keys.alipayPublicKey, appId: APP_ID, logger: silentLogger });
  return (async () => {
    try {
      return await fn(server, path);
    } finally {
      await server.stop();
    }
  })();
}

function agreementIn(path: string) {
  const ledger = new Ledger(path);
  try {
    return ledger.agreement(NO);
  } finally {
    ledger.close();
  }
}

test('dut_user_unsign is applied: a cancelled agreement is UNSIGN in the ledger, not NORMAL', { timeout: 30_000 }, async () => {
  await withServer(async (server, path) => {
    assert.equal((await server.handle(signed({ status: 'NORMAL', notify_time: '2024-05-01 10:00:06', extra: SIGN_FIELDS }))).result, 'applied');
    // a real unsign notice: status UNSIGN and unsign_time, no valid_time
    const unsign = signed({ status: 'UNSIGN', notify_time: '2024-05-03 09:00:01', extra: { unsign_time: '2024-05-03 09:00:00', sign_time: SIGN_FIELDS.sign_time } });
    assert.deepEqual(await server.handle(unsign), { status: 200, body: 'success', result: 'applied' });
    const a = agreementIn(path)!;
    assert.equal(a.status, 'UNSIGN');
    assert.equal(a.fields.unsign_time, '2024-05-03 09:00:00');
    assert.equal(a.since, '2024-05-03 09:00:00');
    assert.deepEqual(a.history.map((h) => [h.status, h.applied, h.since]), [['NORMAL', true, '2024-05-01 10:00:05'], ['UNSIGN', true, '2024-05-03 09:00:00']]);
  });
});

test('a late resend of the sign notice (fresh notify_time) does not bring back NORMAL; it is kept as history, not applied', { timeout: 30_000 }, async () => {
  await withServer(async (server, path) => {
    // the sign notice was never answered success (receiver down); the unsign came through first
    const unsign = signed({ status: 'UNSIGN', notify_time: '2024-05-03 09:00:01', extra: { unsign_time: '2024-05-03 09:00:00' } });
    assert.equal((await server.handle(unsign)).result, 'applied');
    const late = signed({ notify_id: 'sign-1', status: 'NORMAL', notify_time: '2024-05-03 20:00:00', extra: SIGN_FIELDS });
    assert.deepEqual(await server.handle(late), { status: 200, body: 'success', result: 'stale' }, 'answered success: resending it helps nothing');
    const a = agreementIn(path)!;
    assert.equal(a.status, 'UNSIGN');
    assert.equal(a.fields.unsign_time, '2024-05-03 09:00:00', 'the fields of the newer state stay too');
    const last = a.history.at(-1)!;
    assert.deepEqual(
      { status: last.status, applied: last.applied, notify_id: last.notify_id, notify_time: last.notify_time, since: last.since },
      { status: 'NORMAL', applied: false, notify_id: 'sign-1', notify_time: '2024-05-03 20:00:00', since: '2024-05-01 10:00:05' },
    );
    // its own resend (same notify_id) changes nothing at all, not even history
    assert.equal((await server.handle(late)).result, 'resend');
    assert.equal(agreementIn(path)!.history.length, 2);
  });
});

test('dut_user_sign notices are ordered by their time fields: an older NORMAL does not overwrite a newer STOP', { timeout: 30_000 }, async () => {
  await withServer(async (server, path) => {
    const stop = signed({ status: 'STOP', notify_time: '2024-05-02 08:00:00', extra: SIGN_FIELDS });
    const normal = signed({ status: 'NORMAL', notify_time: '2024-05-01 10:00:06', extra: SIGN_FIELDS });
    assert.equal((await server.handle(stop)).result, 'applied');
    assert.equal((await server.handle(normal)).result, 'stale');
    const a = agreementIn(path)!;
    assert.equal(a.status, 'STOP');
    assert.deepEqual(a.history.map((h) => [h.status, h.applied]), [['STOP', true], ['NORMAL', false]]);
  });
});

test('every notice is history: a newer one with the same status is applied and recorded with its time', { timeout: 30_000 }, async () => {
  await withServer(async (server, path) => {
    const first = signed({ status: 'NORMAL', notify_time: '2024-05-01 10:00:06', extra: SIGN_FIELDS });
    const again = signed({ status: 'NORMAL', notify_time: '2024-05-01 10:00:09', extra: { ...SIGN_FIELDS, forex_eligible: 'T' } });
    assert.equal((await server.handle(first)).result, 'applied');
    assert.equal((await server.handle(again)).result, 'applied');
    const a = agreementIn(path)!;
    assert.equal(a.fields.forex_eligible, 'T', 'the newer notice\'s fields are stored');
    assert.deepEqual(a.history.map((h) => [h.status, h.applied, h.notify_time]), [['NORMAL', true, '2024-05-01 10:00:06'], ['NORMAL', true, '2024-05-01 10:00:09']]);
    assert.deepEqual(a.history.map((h) => h.notify_id), [first.notify_id, again.notify_id]);
  });
});

test('equal keys: the later arrival wins, but nothing replaces an UNSIGN at an equal key', { timeout: 30_000 }, async () => {
  await withServer(async (server, path) => {
    const t = '2024-05-02 08:00:00';
    assert.equal((await server.handle(signed({ status: 'STOP', notify_time: t }))).result, 'applied');
    assert.equal((await server.handle(signed({ status: 'UNSIGN', notify_time: t }))).result, 'applied');
    assert.equal((await server.handle(signed({ status: 'STOP', notify_time: t }))).result, 'stale');
    assert.equal(agreementIn(path)!.status, 'UNSIGN');
  });
});

test('over HTTP on loopback: sign, unsign and an out-of-order resend; every one answered success, the ledger ends UNSIGN', { timeout: 30_000 }, async () => {
  await withServer(async (server, path) => {
    const url = await server.start();
    const sign = signed({ notify_id: 'sign-http', status: 'NORMAL', notify_time: '2024-05-01 10:00:06', extra: SIGN_FIELDS });
    const unsign = signed({ notify_id: 'unsign-http', status: 'UNSIGN', notify_time: '2024-05-03 09:00:01', extra: { unsign_time: '2024-05-03 09:00:00' } });
    const resent = signed({ notify_id: 'sign-http', status: 'NORMAL', notify_time: '2024-05-03 21:00:00', extra: SIGN_FIELDS });
    for (const form of [sign, unsign, resent, unsign]) assert.deepEqual(await postForm(url, formBody(form)), { status: 200, body: 'success' });
    // a forged unsign is refused and changes nothing
    assert.deepEqual(await postForm(url, formBody({ ...sign, status: 'UNSIGN' })), { status: 400, body: 'fail' });
    const a = agreementIn(path)!;
    assert.equal(a.status, 'UNSIGN');
    assert.deepEqual(a.history.map((h) => [h.status, h.applied, h.notify_id]), [['NORMAL', true, 'sign-http'], ['UNSIGN', true, 'unsign-http']]);
    assert.equal(server.received, 5);
  });
});
