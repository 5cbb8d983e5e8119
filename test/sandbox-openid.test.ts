/**
 * The sandbox's own reading of OpenID (no sources/ import here but for the comparison at the end): agreements held
 * by open id, found by it, named by it to an app on OpenID (behaviour openId) in answers and notifications; user
 * ids of 2088 + up to 32 digits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alipayUserId, openId } from '../pipeline/sandbox/checks.js';
import {
  AgreementBatchQueryMethod, AgreementEffectMethod, AgreementQueryMethod, AgreementStore, parseAgreementSeed, type SeedAgreement,
} from '../pipeline/sandbox/methods/agreements.js';
import { notificationFields } from '../pipeline/sandbox/notify-sender.js';
import { BATCH_QUERY, checkValue, field, SIGN_EFFECT } from '../pipeline/sandbox/pages/index.js';
import type { Behaviours } from '../pipeline/sandbox/behaviours.js';
import { agreementQueries } from '../sources/agreement-queries.js';

const P = 'GENERAL_WITHHOLDING_P';
const U1 = '2088101122675263';
const LONG = '2088'.padEnd(32, '1');
const O1 = '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5';
const O2 = '074b2DdUH2MfmyLf5yRD1ahOeJe1oyj06c6mtOqbaXZpDp6';
const seed: SeedAgreement[] = [
  { agreement_no: '20240501000000000001', alipay_user_id: U1, alipay_open_id: O1, alipay_logon_id: 'zhang.wei@example.com', personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'TEMP', external_agreement_no: 'EXT1' },
  { agreement_no: '20240501000000000002', alipay_open_id: O1, personal_product_code: P, sign_scene: 'INDUSTRY|GYM', status: 'NORMAL' },
  { agreement_no: '20240501000000000003', alipay_open_id: O2, personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'TEMP', external_agreement_no: 'EXT3' },
  { agreement_no: '20240501000000000004', alipay_user_id: LONG, personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'NORMAL' },
];

const ON: Behaviours = { openId: true };
const call = (m: { handle: AgreementEffectMethod['handle'] }, biz: Record<string, string>, behaviours?: Behaviours) =>
  m.handle({ appId: 'a', biz, params: {}, now: Date.now(), ...(behaviours ? { behaviours } : {}) });

test('the sandbox\'s user id: 2088 and digits, 16 to 32 (the field\'s 最大长度; longer ids are announced); an open id: visible ASCII', () => {
  for (const ok of [U1, '20881011226752631', LONG]) assert.equal(alipayUserId(ok), null, ok);
  for (const bad of ['208810112267526', `${LONG}1`, '3088101122675263', O1]) assert.notEqual(alipayUserId(bad), null, bad);
  assert.equal(openId(O1), null);
  assert.notEqual(openId('074a 1CcT'), null);
  assert.equal(checkValue(field(SIGN_EFFECT, 'alipay_user_id'), LONG), null);
  assert.equal(checkValue(field(BATCH_QUERY, 'alipay_open_id'), 'x'.repeat(129))?.problem, 'length');
});

test('seeds: a user by open id, user id or both; neither is refused; a long user id is taken', () => {
  assert.equal(new AgreementStore(seed).all().length, 4);
  assert.throws(() => parseAgreementSeed(JSON.stringify([{ agreement_no: '1', personal_product_code: P, sign_scene: 'S', status: 'TEMP' }])), /alipay_user_id or alipay_open_id is required/);
  assert.throws(() => parseAgreementSeed(JSON.stringify([{ agreement_no: '1', alipay_open_id: 'a b', personal_product_code: P, sign_scene: 'S', status: 'TEMP' }])), /alipay_open_id/);
  assert.throws(() => parseAgreementSeed(JSON.stringify([{ agreement_no: '1', alipay_user_id: `${LONG}1`, personal_product_code: P, sign_scene: 'S', status: 'TEMP' }])), /alipay_user_id must be 2088/);
});

test('an app on OpenID: effect by open id turns TEMP NORMAL and answers principal_open_id, never principal_id; a user id names nobody it knows', () => {
  const store = new AgreementStore(seed);
  const m = new AgreementEffectMethod(store);
  const ok = call(m, { external_agreement_no: 'EXT3', sign_scene: 'INDUSTRY|MEDICAL', alipay_open_id: O2 }, ON);
  assert.equal(ok.code, '10000');
  assert.equal(ok.principal_open_id, O2);
  assert.equal('principal_id' in ok, false);
  assert.equal(store.get('20240501000000000003')!.status, 'NORMAL');
  const byUser = call(m, { external_agreement_no: 'EXT1', sign_scene: 'INDUSTRY|MEDICAL', alipay_user_id: U1 }, ON);
  assert.equal(byUser.sub_code, 'USER_NOT_EXIST_ERROR');
  // by number: the answer still names the principal by open id
  const byNo = call(m, { agreement_no: '20240501000000000001' }, ON);
  assert.deepEqual([byNo.code, byNo.principal_open_id, byNo.principal_id], ['10000', O1, undefined]);
});

test('an app not on OpenID: open ids name nobody it knows; its answers carry principal_id as before', () => {
  const store = new AgreementStore(seed);
  const m = new AgreementEffectMethod(store);
  assert.equal(call(m, { external_agreement_no: 'EXT3', sign_scene: 'INDUSTRY|MEDICAL', alipay_open_id: O2 }).sub_code, 'USER_NOT_EXIST_ERROR');
  const ok = call(m, { external_agreement_no: 'EXT1', sign_scene: 'INDUSTRY|MEDICAL', alipay_user_id: U1, alipay_open_id: O1 });
  assert.deepEqual([ok.code, ok.principal_id, ok.principal_open_id], ['10000', U1, undefined], 'beside its own kind of id the other is passed over');
  const none = call(m, { external_agreement_no: 'EXT1', sign_scene: 'INDUSTRY|MEDICAL' });
  assert.equal(none.sub_code, 'INVALID_PARAMETER');
  assert.match(String(none.sub_msg), /alipay_open_id/);
});

test('batch.query and agreement.query by open id: the user\'s agreements (a logon id resolves to the same user), items carry principal_open_id', () => {
  const store = new AgreementStore(seed);
  const batch = new AgreementBatchQueryMethod(store);
  const list = (biz: Record<string, string>, b?: Behaviours) => (call(batch, { personal_product_code: P, ...biz }, b).usage_agreement_info_list as Record<string, string>[]);
  assert.deepEqual(list({ alipay_open_id: O1 }, ON).map((i) => [i.agreement_no, i.principal_open_id, i.principal_id]), [
    ['20240501000000000001', O1, undefined], ['20240501000000000002', O1, undefined],
  ]);
  assert.deepEqual(list({ alipay_logon_id: 'zhang.wei@example.com' }, ON).map((i) => i.agreement_no), ['20240501000000000001', '20240501000000000002']);
  assert.deepEqual(list({ alipay_user_id: LONG }).map((i) => [i.agreement_no, i.principal_id]), [['20240501000000000004', LONG]]);
  assert.equal(call(batch, { personal_product_code: P, alipay_user_id: U1 }, ON).sub_code, 'USER_NOT_EXIST_ERROR');
  const q = new AgreementQueryMethod(store);
  const one = call(q, { personal_product_code: P, alipay_open_id: O1, sign_scene: 'INDUSTRY|GYM' }, ON);
  assert.deepEqual([one.agreement_no, one.principal_open_id], ['20240501000000000002', O1]);
  const ext = call(q, { personal_product_code: P, external_agreement_no: 'EXT3', sign_scene: 'INDUSTRY|MEDICAL', alipay_open_id: O2 }, ON);
  assert.equal(ext.agreement_no, '20240501000000000003');
});

test('notifications name the user by open id to an app on OpenID, by user id otherwise', () => {
  const a = new AgreementStore(seed).get('20240501000000000001')!;
  const open = notificationFields('sign', { ...a, status: 'NORMAL' }, '2021000000000001', undefined, true);
  assert.equal(open.alipay_open_id, O1);
  assert.equal('alipay_user_id' in open, false);
  const user = notificationFields('unsign', a, '2021000000000001');
  assert.deepEqual([user.alipay_user_id, user.alipay_open_id, user.notify_type], [U1, undefined, 'dut_user_unsign']);
});

test('002 batch.query: both readings take a user by alipay_open_id and a 32-digit user id, and refuse a 33-digit one', () => {
  const rows: Record<string, string>[] = [{ alipay_open_id: O1 }, { alipay_user_id: LONG }, { alipay_user_id: `${LONG}1` }, { alipay_open_id: 'a b' }];
  for (const biz of rows) {
    const s = agreementQueries.validate({ personal_product_code: P, ...biz }).ok;
    const g = Object.entries(biz).every(([k, v]) => checkValue(field(BATCH_QUERY, k), v) === null);
    assert.equal(s, g, JSON.stringify(biz));
  }
});

// Kept on purpose: no page states an open id's form, so the sandbox takes any visible ASCII; sources/ refuses a 2088
// user id or a logon id in that column (a wrong column in the export: the row would name nobody, or leak a logon id).
test('alipay_open_id: DELIBERATE DIFFERENCE, the sandbox takes a 2088 user id or an email there, sources/ refuses them with a hint', () => {
  for (const v of [U1, 'zhang.wei@example.com']) {
    assert.equal(checkValue(field(BATCH_QUERY, 'alipay_open_id'), v), null, v);
    assert.equal(agreementQueries.validate({ personal_product_code: P, alipay_open_id: v }).ok, false, v);
  }
});
