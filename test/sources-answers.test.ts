/**
 * A dataset is one module: its field table and what its method's answers mean (sources/dataset.ts, AnswerRules).
 * The classifier reads these rules; nothing in pipeline/ lists methods.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreementDatasets, agreementQuery, agreementStatus, datasets } from '../sources/index.js';
import { classifyAnswer } from '../pipeline/alipay/classify.js';

const all = [...Object.values(datasets), ...Object.values(agreementDatasets), agreementQuery];

test('every dataset, and the read-back query, states its answer rules with its method', () => {
  const methods = new Set<string>();
  for (const d of all) {
    assert.match(d.method, /^[a-z]+(\.[a-z]+)+$/, d.method);
    assert.ok(!methods.has(d.method), `${d.method} is stated twice`);
    methods.add(d.method);
    assert.equal(typeof d.answers.meanings, 'object', d.method);
    for (const [code, meaning] of Object.entries(d.answers.meanings)) {
      assert.match(code, /^[A-Z_]+$/, `${d.method}: ${code}`);
      assert.ok(meaning.length > 10, `${d.method}: ${code}`);
    }
  }
  assert.equal(agreementQuery.method, 'alipay.user.agreement.query');
});

test('SYSTEM_ERROR is transient for every method without each listing it; a meaning is shown with the sub_msg', () => {
  for (const d of all) {
    assert.equal(classifyAnswer({ code: '40004', sub_code: 'ACQ.SYSTEM_ERROR' }, true, d.answers).kind, 'transient', d.method);
    assert.ok(!d.answers.transientSubCodes?.includes('SYSTEM_ERROR'), `${d.method} need not list SYSTEM_ERROR`);
    const [code, meaning] = Object.entries(d.answers.meanings).find(([c]) => !d.answers.reconcileSubCodes?.[c]) ?? [];
    if (!code) continue;
    const out = classifyAnswer({ code: '40004', sub_code: code, sub_msg: 'detail' }, true, d.answers);
    assert.deepEqual([out.kind, out.reason], ['row-fatal', `${code}: ${meaning} (detail)`], d.method);
  }
});

test('sign.effect: STATUS_ABNORMAL and PERIOD_CONFILICT are read back; its read-back query names the status', () => {
  const effect = agreementDatasets.effect.answers;
  for (const sub of ['USER_AGREEMENT_STATUS_ABNORMAL', 'USER_AGREEMENT_PERIOD_CONFILICT']) {
    assert.equal(classifyAnswer({ code: '40004', sub_code: sub }, true, effect).kind, 'reconcile', sub);
  }
  assert.equal(classifyAnswer({ code: '10000', status: 'NORMAL' }, true, effect).kind, 'success');
  assert.equal(classifyAnswer({ code: '10000', status: 'TEMP' }, true, effect).kind, 'row-fatal');
  assert.equal(agreementStatus({ status: 'STOP' }), 'STOP');
  assert.equal(agreementStatus({ status: '' }), undefined);
  assert.equal(agreementStatus(undefined), undefined);
});
