/**
 * OpenID in the agreement datasets (issue 12, item 3): alipay_open_id names a user wherever alipay_user_id does;
 * one of user id / open id / logon id is required; the user id and the open id each win over the logon id (the
 * SDK models), and both together are refused. User ids are 2088 + digits up to the field's 32.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreementEffects } from '../sources/agreement-effects.js';
import { agreementQueries } from '../sources/agreement-queries.js';
import { checkOpenId } from '../sources/agreement-users.js';
import { errorsOf, rowOf } from './helpers/validation.js';

const OPEN = '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5'; // the SDK's example
const USER = '2088101122675263';
const P = 'GENERAL_WITHHOLDING_P';
const EMAIL = 'zhang.wei@example.com';

const effect = (cells: Record<string, string>) => ({ external_agreement_no: 'EXT1', sign_scene: 'INDUSTRY|MEDICAL', personal_product_code: P, ...cells });
const query = (cells: Record<string, string>) => ({ personal_product_code: P, ...cells });

test('an open id names the user of an effect row and of a query row; it is sent as alipay_open_id', () => {
  const e = rowOf(agreementEffects.validate(effect({ alipay_open_id: OPEN })));
  assert.equal(e.key, 'ext:EXT1|INDUSTRY|MEDICAL', 'the effect key does not depend on how the user is named');
  assert.deepEqual(JSON.parse(e.bizContent), { personal_product_code: P, alipay_open_id: OPEN, sign_scene: 'INDUSTRY|MEDICAL', external_agreement_no: 'EXT1' });
  const q = rowOf(agreementQueries.validate(query({ alipay_open_id: OPEN, sign_scene: 'INDUSTRY|GYM' })));
  assert.equal(q.key, `open:${OPEN}|${P}|INDUSTRY|GYM||`);
  assert.equal(q.bizContent, `{"personal_product_code":"${P}","alipay_open_id":"${OPEN}","sign_scene":"INDUSTRY|GYM"}`);
  // keys of rows by user id or logon id are what they were before open ids
  assert.equal(rowOf(agreementQueries.validate(query({ alipay_user_id: USER }))).key, `${USER}|${P}|||`);
  assert.equal(rowOf(agreementQueries.validate(query({ alipay_logon_id: EMAIL }))).key, `logon:${EMAIL}|${P}|||`);
});

test('precedence: an open id (like a user id) wins over a logon id, so the key names it and both are sent; user id and open id together are refused', () => {
  const q = rowOf(agreementQueries.validate(query({ alipay_open_id: OPEN, alipay_logon_id: EMAIL })));
  assert.equal(q.key, `open:${OPEN}|${P}|||`);
  assert.deepEqual(Object.keys(JSON.parse(q.bizContent) as object), ['personal_product_code', 'alipay_open_id', 'alipay_logon_id']);
  for (const [ds, row] of [[agreementEffects, effect({ alipay_user_id: USER, alipay_open_id: OPEN })], [agreementQueries, query({ alipay_user_id: USER, alipay_open_id: OPEN })]] as const) {
    assert.deepEqual(errorsOf(ds.validate(row)), {
      alipay_open_id: 'give alipay_user_id or alipay_open_id, not both: an app names its users one way (open ids on OpenID)',
    }, ds.name);
  }
});

test('a row with none of the three ids is refused on alipay_user_id, naming all three', () => {
  assert.deepEqual(errorsOf(agreementEffects.validate(effect({ alipay_user_id: ' ', alipay_open_id: '', alipay_logon_id: '' }))), {
    alipay_user_id: 'one of alipay_user_id, alipay_open_id or alipay_logon_id is required with external_agreement_no (when there is no agreement_no)',
  });
  assert.deepEqual(errorsOf(agreementQueries.validate(query({}))), { alipay_user_id: 'one of alipay_user_id, alipay_open_id or alipay_logon_id is required' });
  // agreement_no alone still needs no user ("如果传了该参数,其他参数会被忽略")
  assert.ok(agreementEffects.validate({ agreement_no: '20170322450983769228', alipay_open_id: 'not an id' }).ok);
});

test('an open id: visible ASCII up to 128; a 2088 user id or a logon id in its column is refused with a hint, never echoed', () => {
  for (const ok of [OPEN, 'a', 'A'.repeat(128), '0-_.x']) assert.equal(checkOpenId(ok), null, ok);
  assert.equal(errorsOf(agreementQueries.validate(query({ alipay_open_id: 'A'.repeat(129) })))['alipay_open_id'], 'is 129 characters, at most 128');
  for (const [bad, reason] of [
    ['074a 1CcT', 'may contain only visible ASCII characters (letters and digits)'],
    ['074a1CcT号', 'may contain only visible ASCII characters (letters and digits)'],
    [USER, 'is a 2088 user id: put it in alipay_user_id'],
    [EMAIL, 'looks like a logon id (an email or mobile number): put it in alipay_logon_id'],
    ['13812345678', 'looks like a logon id (an email or mobile number): put it in alipay_logon_id'],
  ] as const) {
    const errors = errorsOf(agreementQueries.validate(query({ alipay_open_id: bad })));
    assert.equal(errors['alipay_open_id'], reason, bad);
    assert.ok(!reason.includes(bad));
  }
  // a logon id in the open id column is masked wherever the row is shown; an open id is not personal
  assert.equal(agreementQueries.safeCells(query({ alipay_open_id: EMAIL }))['alipay_open_id'], 'zh*******@example.com');
  assert.equal(agreementQueries.safeCells(query({ alipay_open_id: OPEN }))['alipay_open_id'], OPEN);
});

test('a longer 2088 user id (up to the field\'s 32) is accepted, and shown as it is even at 18 digits (it is no ID number)', () => {
  for (const id of ['20881011226752631', '208810112267526311', '2088'.padEnd(32, '9')]) {
    assert.equal(rowOf(agreementQueries.validate(query({ alipay_user_id: id }))).key, `${id}|${P}|||`);
    assert.ok(agreementEffects.validate(effect({ alipay_user_id: id })).ok, id);
    assert.equal(agreementQueries.safeCells(query({ alipay_user_id: id }))['alipay_user_id'], id);
  }
  // an ID number in that column is refused and still masked
  const idCard = '110101199003077777';
  assert.ok(!agreementQueries.validate(query({ alipay_user_id: idCard })).ok);
  assert.notEqual(agreementQueries.safeCells(query({ alipay_user_id: idCard }))['alipay_user_id'], idCard);
});

test('a query file needs one user column: alipay_open_id alone will do', () => {
  assert.deepEqual(agreementQueries.checkHeader(['personal_product_code', 'alipay_open_id']), { missing: [], unknown: [] });
  assert.deepEqual(agreementQueries.checkHeader(['personal_product_code']).missing, ['alipay_user_id or alipay_open_id or alipay_logon_id']);
  assert.deepEqual(agreementEffects.checkHeader(['external_agreement_no', 'sign_scene', 'alipay_open_id']), { missing: [], unknown: [] });
});
