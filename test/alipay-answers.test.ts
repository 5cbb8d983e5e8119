/**
 * How the client reads and judges answers (issue 10), against small loopback gateways written here: each answers
 * exactly one way, signed with node:crypto and the real test keys, so every rule is exercised over real HTTP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyAnswer, FailureStreak, type Outcome } from '../pipeline/alipay/classify.js';
import { agreementStatus } from '../sources/agreement-query.js';
import { BORROW, EFFECT, QUERY, WORKER, answersOf } from './helpers/answers.js';
import { callWith, signedBody } from './helpers/answer-gateway.js';

// ---- 1. worker contracts: biz_success is not a declared field

test('worker contract: a verified 10000 without biz_success is a success', async () => {
  const res = await callWith(WORKER, signedBody(WORKER, '{"code":"10000","msg":"Success"}'));
  assert.equal(res.kind, 'success', res.reason);
});

test('worker contract: only an explicit biz_success false (boolean or string) fails the row', () => {
  const policy = answersOf(WORKER);
  const judge = (extra: Record<string, unknown>) => classifyAnswer({ code: '10000', msg: 'Success', ...extra }, true, policy).kind;
  assert.equal(judge({ biz_success: false }), 'row-fatal');
  assert.equal(judge({ biz_success: 'false' }), 'row-fatal');
  assert.equal(judge({ biz_success: 'FALSE' }), 'row-fatal');
  assert.equal(judge({ biz_success: true }), 'success');
  assert.equal(judge({ biz_success: 'true' }), 'success');
  assert.equal(judge({ biz_success: null }), 'success');
  assert.equal(judge({}), 'success');
});

// ---- 2. 40002 by sub_code, and the failure streak

test('40002 isv.invalid-parameter / isv.content-length-too-long fail the row, not the run', async () => {
  const bad = await callWith(BORROW, signedBody(BORROW, '{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-parameter","sub_msg":"参数无效"}'));
  assert.deepEqual([bad.kind, bad.code, bad.subCode], ['row-fatal', '40002', 'isv.invalid-parameter']);
  assert.match(bad.reason, /参数无效/);
  const long = classifyAnswer({ code: '40002', sub_code: 'isv.content-length-too-long' }, false);
  assert.equal(long.kind, 'row-fatal');
  for (const sub of ['isv.invalid-file-extension', 'isv.invalid-file-size']) assert.equal(classifyAnswer({ code: '40002', sub_code: sub }, false).kind, 'row-fatal', sub);
  assert.equal(classifyAnswer({ code: '40002', sub_code: 'isv.upload-fail' }, false).kind, 'transient');
});

test('40002 credential, signature, app id, timestamp, charset, permission and token sub_codes stop the run', () => {
  for (const sub of [
    'isv.invalid-signature', 'isv.invalid-signature-type', 'isv.missing-signature-config', 'isv.invalid-app-id', 'isv.invalid-timestamp',
    'isv.invalid-charset', 'isv.invalid-method', 'isv.invalid-format', 'isv.invalid-encrypt-type', 'isv.invalid-encrypt',
    'isv.decryption-error-unknown', 'isv.not-support-app-auth', 'isv.missing-signature',
    // unknown, but named after configuration
    'isv.invalid-app-auth-token', 'isv.insufficient-isv-permissions', 'isv.invalid-private-key', 'isv.cert-expired',
  ]) {
    assert.equal(classifyAnswer({ code: '40002', sub_code: sub }, false).kind, 'run-fatal', sub);
  }
  assert.equal(classifyAnswer({ code: '40002' }, false).kind, 'run-fatal', 'no sub_code at all');
  // 20001, 40001 and 40006 have no row-level sub_code in the public list
  assert.equal(classifyAnswer({ code: '20001', sub_code: 'aop.invalid-app-auth-token-no-api' }, false).kind, 'run-fatal');
  assert.equal(classifyAnswer({ code: '40001', sub_code: 'isv.missing-timestamp' }, false).kind, 'run-fatal');
  assert.equal(classifyAnswer({ code: '40006', sub_code: 'isv.insufficient-user-permissions' }, false).kind, 'run-fatal');
});

test('40002 with an unknown sub_code that names no configuration fails the row', () => {
  const res = classifyAnswer({ code: '40002', sub_code: 'isv.invalid-longitude', sub_msg: '经度非法' }, true);
  assert.equal(res.kind, 'row-fatal');
  assert.match(res.reason, /isv\.invalid-longitude/);
});

test('FailureStreak: N row-fatal outcomes in a row with one sub_code give a stop reason; anything else resets it', () => {
  const row = (subCode: string): Outcome => ({ kind: 'row-fatal', code: '40002', subCode, reason: `${subCode}: bad`, verified: true });
  const streak = new FailureStreak(3);
  assert.equal(streak.note(row('isv.invalid-parameter')), null);
  assert.equal(streak.note(row('isv.invalid-parameter')), null);
  assert.equal(streak.note({ kind: 'success', code: '10000', reason: 'success', verified: true }), null, 'a success resets');
  assert.equal(streak.note(row('isv.invalid-parameter')), null);
  assert.equal(streak.note(row('NULL_ARGUMENT')), null, 'another sub_code starts a new streak');
  assert.equal(streak.note(row('isv.invalid-parameter')), null);
  assert.equal(streak.note(row('isv.invalid-parameter')), null);
  const stop = streak.note(row('isv.invalid-parameter'));
  assert.equal(stop, '3 rows in a row failed with isv.invalid-parameter: probably configuration, not the rows (last: isv.invalid-parameter: bad)');
  assert.equal(streak.note({ kind: 'transient', code: '20000', reason: 'busy', verified: false }), null);
  assert.equal(new FailureStreak().limit, 20);
  const http = new FailureStreak(2);
  http.note({ kind: 'row-fatal', code: 'HTTP_413', reason: 'too large', verified: false });
  assert.match(http.note({ kind: 'row-fatal', code: 'HTTP_413', reason: 'too large', verified: false }) ?? '', /failed with HTTP_413/);
});

// ---- 3. reconcile

test('sign.effect USER_AGREEMENT_STATUS_ABNORMAL and USER_AGREEMENT_PERIOD_CONFILICT → reconcile, with the reason', async () => {
  for (const sub of ['USER_AGREEMENT_STATUS_ABNORMAL', 'USER_AGREEMENT_PERIOD_CONFILICT']) {
    const res = await callWith(EFFECT, signedBody(EFFECT, `{"code":"40004","msg":"Business Failed","sub_code":"${sub}","sub_msg":"x"}`));
    assert.equal(res.kind, 'reconcile', sub);
    assert.equal(res.subCode, sub);
    assert.match(res.reason, /alipay\.user\.agreement\.query/);
  }
  const other = await callWith(EFFECT, signedBody(EFFECT, '{"code":"40004","msg":"Business Failed","sub_code":"USER_AGREEMENT_NOT_EXIST"}'));
  assert.equal(other.kind, 'row-fatal');
});

test('alipay.user.agreement.query: a success carries the status; its business errors', async () => {
  const ok = await callWith(QUERY, signedBody(QUERY, '{"code":"10000","msg":"Success","agreement_no":"20245","status":"NORMAL","valid_time":"2024-01-01 00:00:00"}'));
  assert.equal(ok.kind, 'success', ok.reason);
  assert.equal(agreementStatus(ok.fields), 'NORMAL');
  const policy = answersOf(QUERY);
  assert.equal(classifyAnswer({ code: '10000' }, true, policy).kind, 'row-fatal', 'a success without status is not one');
  assert.equal(classifyAnswer({ code: '40004', sub_code: 'USER_AGREEMENT_NOT_EXIST' }, true, policy).kind, 'row-fatal');
  assert.match(classifyAnswer({ code: '40004', sub_code: 'USER_AGREEMENT_NOT_EXIST' }, true, policy).reason, /用户协议不存在/);
  assert.equal(classifyAnswer({ code: '40004', sub_code: 'SYSTEM_ERROR' }, true, policy).kind, 'transient');
  assert.equal(classifyAnswer({ code: '40004', sub_code: 'PARENT_MERCHANT_QUERY_FAIL' }, true, policy).kind, 'transient');
  for (const sub of ['USER_NOT_EXIST_ERROR', 'PRODUCT_CODE_NOT_SUPPORTED_ERROR', 'INVALID_PARAMETER', 'MERCHANT_STATUS_IS_NOT_NORMAL', 'AUTHOREE_IS_NOT_MATCH']) {
    assert.equal(classifyAnswer({ code: '40004', sub_code: sub }, true, policy).kind, 'row-fatal', sub);
  }
});

// ---- 4. the "\/" second try

test('a reason says the gateway\'s Chinese text once: not again after a meaning that already quotes it', () => {
  const effect = classifyAnswer({ code: '40004', msg: 'Business Failed', sub_code: 'USER_AGREEMENT_NOT_EXIST', sub_msg: '用户协议不存在' }, true, answersOf(EFFECT));
  assert.equal(effect.reason.split('用户协议不存在').length - 1, 1, effect.reason);
  const borrow = classifyAnswer({ code: '40004', msg: 'Business Failed', sub_code: 'INFOSEC_VERIFY_FAILED', sub_msg: '信息含敏感内容' }, true, answersOf(BORROW));
  assert.equal(borrow.reason.split('信息含敏感内容').length - 1, 1, borrow.reason);
  // a sub_msg that says more than the meaning is kept beside it
  const other = classifyAnswer({ code: '40004', msg: 'Business Failed', sub_code: 'USER_AGREEMENT_NOT_EXIST', sub_msg: '协议号20240501000000000001不存在' }, true, answersOf(EFFECT));
  assert.match(other.reason, /\(用户协议不存在\): .*\(协议号20240501000000000001不存在\)$/);
});
