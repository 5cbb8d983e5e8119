import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { AlipayClient, type CallResult } from '../pipeline/alipay/client.js';
import { parseBeijingTimestamp } from '../pipeline/alipay/sign.js';
import { SandboxGateway } from '../pipeline/sandbox/server.js';
import {
  AgreementBatchQueryMethod,
  AgreementEffectMethod,
  AgreementStore,
  parseAgreementSeed,
  type AgreementRecord,
  type SeedAgreement,
} from '../pipeline/sandbox/methods/agreements.js';
import { agreementEffects } from '../sources/agreement-effects.js';
import { agreementQueries } from '../sources/agreement-queries.js';
import { testKeys } from './helpers/sandbox.js';

const EFFECT = agreementEffects.method;
const QUERY = agreementQueries.method;
const P = 'GENERAL_WITHHOLDING_P';
const USER = '2088101122675263';
const OTHER_USER = '2088101122670000';
const LOGON = 'zhangsan.wei@example.com';

const SEED: SeedAgreement[] = [
  { agreement_no: '20240501000000000001', alipay_user_id: USER, alipay_logon_id: LOGON, personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'TEMP', external_agreement_no: 'EXT1', sign_time: '2024-05-01 10:00:00' },
  { agreement_no: '20240501000000000002', alipay_user_id: USER, alipay_logon_id: LOGON, personal_product_code: P, sign_scene: 'INDUSTRY|CARRENTAL', status: 'NORMAL', external_agreement_no: 'EXT2', third_party_type: 'MERCHANT', sign_time: '2024-04-01 09:00:00', valid_time: '2024-04-01 09:00:05', invalid_time: '2115-02-01 00:00:00' },
  { agreement_no: '20240501000000000003', alipay_user_id: USER, personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'STOP', external_agreement_no: 'EXT3', sign_time: '2023-01-01 00:00:00', valid_time: '2023-01-01 00:00:01' },
  { agreement_no: '20240501000000000004', alipay_user_id: USER, personal_product_code: 'CYCLE_PAY_AUTH_P', sign_scene: 'INDUSTRY|MEDICAL', status: 'NORMAL', sign_time: '2024-02-01 00:00:00' },
  { agreement_no: '20240501000000000005', alipay_user_id: OTHER_USER, alipay_logon_id: '13812345678', personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'TEMP', external_agreement_no: 'EXT1' },
];

// The gateway's clock drives timestamps checks; the effect method's own clock pins valid_time.
const NOW = Date.UTC(2024, 4, 2, 4, 30, 0); // 2024-05-02 12:30:00 in Beijing
const store = new AgreementStore(SEED, () => NOW);
const { keys } = testKeys();
const gateway = new SandboxGateway({ appPublicKey: keys.appPublicKey, alipayPrivateKey: keys.alipayPrivateKey });
const effected: AgreementRecord[] = [];
gateway.addMethod(new AgreementEffectMethod(store, () => NOW, (a) => effected.push(a)));
gateway.addMethod(new AgreementBatchQueryMethod(store));
let client: AlipayClient;

before(async () => {
  const url = await gateway.start();
  client = new AlipayClient({ gateway: url, appId: gateway.appId, privateKey: keys.appPrivateKey, alipayPublicKey: keys.alipayPublicKey });
});

after(async () => {
  await client.close();
  await gateway.stop();
});

function call(method: string, biz: Record<string, string>): Promise<CallResult> {
  return client.call(method, JSON.stringify(biz));
}

function failed(res: CallResult, subCode: string): void {
  assert.equal(res.code, '40004', res.reason);
  assert.equal(res.subCode, subCode);
  assert.equal(res.kind, 'row-fatal');
}

test('effect: a TEMP agreement becomes NORMAL, valid from now (Beijing), answered with the seed\'s response fields', async () => {
  gateway.reset();
  effected.length = 0;
  const res = await call(EFFECT, { agreement_no: '20240501000000000001' });
  assert.equal(res.kind, 'success', res.reason);
  assert.equal(res.verified, true);
  assert.deepEqual(res.fields, {
    code: '10000', msg: 'Success',
    alipay_logon_id: 'zh**********@example.com',
    valid_time: '2024-05-02 12:30:00',
    invalid_time: '2115-02-01 00:00:00',
    pricipal_type: 'CARD',
    principal_id: USER,
    sign_time: '2024-05-01 10:00:00',
    sign_scene: 'INDUSTRY|MEDICAL',
    agreement_no: '20240501000000000001',
    third_party_type: 'PARTNER',
    status: 'NORMAL',
    personal_product_code: P,
    external_agreement_no: 'EXT1',
  });
  assert.equal(parseBeijingTimestamp(String(res.fields?.valid_time)), NOW);
  assert.equal(store.get('20240501000000000001')?.status, 'NORMAL');
  assert.deepEqual(effected.map((a) => a.agreement_no), ['20240501000000000001']);
  assert.deepEqual(gateway.requestCounts(EFFECT), new Map([['20240501000000000001', 1]]));
  // the logon id never leaves in clear
  assert.ok(!JSON.stringify(res.fields).includes(LOGON));
});

test('effect: asking again for a NORMAL agreement is USER_AGREEMENT_PERIOD_CONFILICT (the page), and tells nobody twice', async () => {
  gateway.reset();
  effected.length = 0;
  const first = await call(EFFECT, { agreement_no: '20240501000000000001' });
  assert.equal(first.kind, 'success', first.reason);
  failed(await call(EFFECT, { agreement_no: '20240501000000000001' }), 'USER_AGREEMENT_PERIOD_CONFILICT');
  failed(await call(EFFECT, { agreement_no: '20240501000000000002' }), 'USER_AGREEMENT_PERIOD_CONFILICT');
  assert.equal(effected.length, 1);
  assert.equal(store.get('20240501000000000001')?.status, 'NORMAL');
});

test('effect, behaviour effectAgainSucceeds: asking again for a NORMAL agreement answers it as it is, and tells nobody twice', async () => {
  gateway.reset();
  effected.length = 0;
  gateway.behaviours.effectAgainSucceeds = true;
  try {
    const first = await call(EFFECT, { agreement_no: '20240501000000000001' });
    const again = await call(EFFECT, { agreement_no: '20240501000000000001' });
    assert.equal(again.kind, 'success');
    assert.deepEqual(again.fields, first.fields);
    assert.equal(effected.length, 1);
    const seeded = await call(EFFECT, { agreement_no: '20240501000000000002' });
    assert.equal(seeded.fields?.status, 'NORMAL');
    assert.equal(seeded.fields?.valid_time, '2024-04-01 09:00:05');
    assert.equal(seeded.fields?.third_party_type, 'MERCHANT');
    // the race answer stays reachable under the behaviour
    failed(await call(EFFECT, { agreement_no: '20240501000000000002', sign_scene: 'INDUSTRY|CONFLICT' }), 'USER_AGREEMENT_PERIOD_CONFILICT');
  } finally {
    gateway.behaviours.effectAgainSucceeds = false;
  }
});

test('effect: by external_agreement_no + sign_scene + user, for the right user only', async () => {
  gateway.reset();
  const res = await call(EFFECT, { personal_product_code: P, alipay_user_id: OTHER_USER, sign_scene: 'INDUSTRY|MEDICAL', external_agreement_no: 'EXT1' });
  assert.equal(res.kind, 'success', res.reason);
  assert.equal(res.fields?.agreement_no, '20240501000000000005');
  assert.equal(res.fields?.alipay_logon_id, '138****5678');
  assert.equal(store.get('20240501000000000001')?.status, 'TEMP', 'the other user\'s EXT1 is untouched');
  const byLogon = await call(EFFECT, { personal_product_code: P, alipay_logon_id: LOGON, sign_scene: 'INDUSTRY|MEDICAL', external_agreement_no: 'EXT1' });
  assert.equal(byLogon.fields?.agreement_no, '20240501000000000001');
  assert.deepEqual(gateway.requestCounts(EFFECT), new Map([['ext:EXT1|INDUSTRY|MEDICAL', 2]]));
  const wrongScene = await call(EFFECT, { personal_product_code: P, alipay_user_id: USER, sign_scene: 'INDUSTRY|CARRENTAL', external_agreement_no: 'EXT1' });
  failed(wrongScene, 'USER_AGREEMENT_NOT_EXIST');
});

test('effect: with agreement_no every other parameter is ignored', async () => {
  gateway.reset();
  const res = await call(EFFECT, { agreement_no: '20240501000000000001', alipay_user_id: '2088000000000001', personal_product_code: 'OTHER_P', sign_scene: 'DEFAULT|DEFAULT' });
  assert.equal(res.kind, 'success', res.reason);
});

test('effect: a STOPped agreement is abnormal and stays STOP', async () => {
  gateway.reset();
  failed(await call(EFFECT, { agreement_no: '20240501000000000003' }), 'USER_AGREEMENT_STATUS_ABNORMAL');
  failed(await call(EFFECT, { personal_product_code: P, alipay_user_id: USER, sign_scene: 'INDUSTRY|MEDICAL', external_agreement_no: 'EXT3' }), 'USER_AGREEMENT_STATUS_ABNORMAL');
  assert.equal(store.get('20240501000000000003')?.status, 'STOP');
});

test('effect: unknown agreement, unknown user, wrong product code', async () => {
  gateway.reset();
  failed(await call(EFFECT, { agreement_no: '20249999999999999999' }), 'USER_AGREEMENT_NOT_EXIST');
  failed(await call(EFFECT, { personal_product_code: P, alipay_user_id: USER, sign_scene: 'INDUSTRY|MEDICAL', external_agreement_no: 'NOPE' }), 'USER_AGREEMENT_NOT_EXIST');
  failed(await call(EFFECT, { personal_product_code: P, alipay_user_id: '2088000000001234', sign_scene: 'INDUSTRY|MEDICAL', external_agreement_no: 'EXT1' }), 'USER_NOT_EXIST_ERROR');
  failed(await call(EFFECT, { personal_product_code: P, alipay_logon_id: 'nobody@example.com', sign_scene: 'INDUSTRY|MEDICAL', external_agreement_no: 'EXT1' }), 'USER_NOT_EXIST_ERROR');
  failed(await call(EFFECT, { personal_product_code: 'CYCLE_PAY_AUTH_P', alipay_user_id: USER, sign_scene: 'INDUSTRY|MEDICAL', external_agreement_no: 'EXT1' }), 'PRODUCT_CODE_NOT_SUPPORTED_ERROR');
  assert.equal(store.get('20240501000000000001')?.status, 'TEMP', 'nothing changed');
});

test('effect: what a row without agreement_no must carry, as INVALID_PARAMETER', async () => {
  gateway.reset();
  failed(await call(EFFECT, { personal_product_code: P, alipay_user_id: USER }), 'INVALID_PARAMETER');
  failed(await call(EFFECT, { personal_product_code: P, alipay_user_id: USER, external_agreement_no: 'EXT1', sign_scene: 'DEFAULT|DEFAULT' }), 'INVALID_PARAMETER');
  failed(await call(EFFECT, { personal_product_code: P, external_agreement_no: 'EXT1', sign_scene: 'INDUSTRY|MEDICAL' }), 'INVALID_PARAMETER');
});

test('effect: the magic INDUSTRY|CONFLICT scene on a NORMAL agreement gives the race answer', async () => {
  gateway.reset();
  failed(await call(EFFECT, { agreement_no: '20240501000000000002', sign_scene: 'INDUSTRY|CONFLICT' }), 'USER_AGREEMENT_PERIOD_CONFILICT');
});

test('query: by user id and product code, all scenes, in the seed\'s item shape', async () => {
  gateway.reset();
  const res = await call(QUERY, { personal_product_code: P, alipay_user_id: USER });
  assert.equal(res.kind, 'success', res.reason);
  const list = res.fields?.usage_agreement_info_list as Record<string, string>[];
  assert.deepEqual(list.map((a) => a.agreement_no).sort(), ['20240501000000000001', '20240501000000000002', '20240501000000000003']);
  const live = list.find((a) => a.agreement_no === '20240501000000000002');
  assert.deepEqual(live, {
    valid_time: '2024-04-01 09:00:05', invalid_time: '2115-02-01 00:00:00', pricipal_type: 'CARD', principal_id: USER,
    sign_scene: 'INDUSTRY|CARRENTAL', agreement_no: '20240501000000000002', third_party_type: 'MERCHANT', status: 'NORMAL',
    sign_time: '2024-04-01 09:00:00', personal_product_code: P,
  });
  // a TEMP agreement was never effective: it has no valid_time yet
  assert.equal('valid_time' in (list.find((a) => a.status === 'TEMP') ?? {}), false);
  assert.deepEqual(gateway.requestCounts(QUERY), new Map([[USER, 1]]));
});

test('query: sign_scene and third_party_type filter; by logon id; an effect shows up', async () => {
  gateway.reset();
  const nos = async (biz: Record<string, string>) => {
    const res = await call(QUERY, biz);
    assert.equal(res.kind, 'success', res.reason);
    return (res.fields?.usage_agreement_info_list as Record<string, string>[]).map((a) => a.agreement_no).sort();
  };
  assert.deepEqual(await nos({ personal_product_code: P, alipay_user_id: USER, sign_scene: 'INDUSTRY|MEDICAL' }), ['20240501000000000001', '20240501000000000003']);
  assert.deepEqual(await nos({ personal_product_code: P, alipay_user_id: USER, third_party_type: 'MERCHANT' }), ['20240501000000000002']);
  assert.deepEqual(await nos({ personal_product_code: P, alipay_user_id: USER, third_party_type: 'PARTNER', sign_scene: 'INDUSTRY|CARRENTAL' }), []);
  assert.deepEqual(await nos({ personal_product_code: 'CYCLE_PAY_AUTH_P', alipay_user_id: USER }), ['20240501000000000004']);
  assert.deepEqual(await nos({ personal_product_code: P, alipay_logon_id: '13812345678' }), ['20240501000000000005']);
  // the user id wins over the logon id when both are given
  assert.deepEqual(await nos({ personal_product_code: P, alipay_user_id: OTHER_USER, alipay_logon_id: LOGON }), ['20240501000000000005']);
  await call(EFFECT, { agreement_no: '20240501000000000005' });
  const after = await call(QUERY, { personal_product_code: P, alipay_user_id: OTHER_USER });
  assert.equal((after.fields?.usage_agreement_info_list as Record<string, string>[])[0]?.status, 'NORMAL');
});

test('query: a user with no agreements at all does not exist', async () => {
  gateway.reset();
  failed(await call(QUERY, { personal_product_code: P, alipay_user_id: '2088101100009999' }), 'USER_NOT_EXIST_ERROR');
  failed(await call(QUERY, { personal_product_code: P, alipay_user_id: '2088000000005555' }), 'USER_NOT_EXIST_ERROR');
  failed(await call(QUERY, { personal_product_code: P, alipay_logon_id: 'nobody@example.com' }), 'USER_NOT_EXIST_ERROR');
  failed(await call(QUERY, { alipay_user_id: USER }), 'INVALID_PARAMETER');
});

test('reset brings the store back to its seed', async () => {
  gateway.reset();
  await call(EFFECT, { agreement_no: '20240501000000000001' });
  assert.equal(store.get('20240501000000000001')?.status, 'NORMAL');
  gateway.reset();
  assert.equal(store.get('20240501000000000001')?.status, 'TEMP');
  assert.equal(store.all().length, SEED.length);
});

test('store: set adds or replaces; records handed out are copies', () => {
  const s = new AgreementStore([], () => NOW);
  const added = s.set({ agreement_no: 'A1', alipay_user_id: USER, personal_product_code: P, sign_scene: 'INDUSTRY|X', status: 'NORMAL' });
  assert.equal(added.third_party_type, 'PARTNER');
  assert.equal(added.sign_time, '2024-05-02 12:30:00');
  assert.equal(added.valid_time, '2024-05-02 12:30:00');
  added.status = 'STOP';
  assert.equal(s.get('A1')?.status, 'NORMAL');
  s.set({ agreement_no: 'A1', alipay_user_id: USER, personal_product_code: P, sign_scene: 'INDUSTRY|X', status: 'STOP' });
  assert.equal(s.all().length, 1);
  assert.equal(s.get('A1')?.status, 'STOP');
  s.reset();
  assert.equal(s.all().length, 0);
});

test('parseAgreementSeed: reads a JSON array, and says clearly what is wrong', () => {
  assert.deepEqual(parseAgreementSeed(JSON.stringify(SEED)), SEED);
  const bad = (json: string, re: RegExp) => assert.throws(() => parseAgreementSeed(json), re);
  const one = (o: Record<string, unknown>) => JSON.stringify([{ ...SEED[0], ...o }]);
  bad('{', /not valid JSON/);
  bad('{"agreements":[]}', /must be a JSON array/);
  bad('[1]', /\[0\]: must be an object/);
  bad(one({ status: 'ACTIVE' }), /\[0\] \(agreement_no 20240501000000000001\): status must be one of TEMP, NORMAL, STOP/);
  bad(one({ alipay_user_id: '12345' }), /alipay_user_id must be 2088/);
  bad(one({ agreement_no: '' }), /agreement_no is required/);
  bad(one({ sign_time: '2024-02-30 00:00:00' }), /sign_time must be a yyyy-MM-dd HH:mm:ss date-time/);
  bad(one({ third_party_type: 'OTHER' }), /third_party_type must be PARTNER or MERCHANT/);
  bad(one({ sign_scene: 'DEFAULT|DEFAULT' }), /sign_scene other than DEFAULT\|DEFAULT/);
  bad(one({ statuss: 'TEMP' }), /unknown field "statuss"/);
  bad(one({ valid_time: 5 }), /valid_time must be a string/);
  bad(JSON.stringify([SEED[0], SEED[0]]), /\[1\].*agreement_no appears twice/);
  bad(JSON.stringify([SEED[0], { ...SEED[0], agreement_no: 'X2' }]), /external_agreement_no \+ sign_scene appears twice/);
  // the logon id is never part of a message
  assert.throws(() => parseAgreementSeed(one({ status: 'X' })), (err: Error) => !err.message.includes(LOGON));
  assert.throws(() => new AgreementStore([{ ...SEED[0]!, status: 'GONE' as 'TEMP' }]), /status must be one of/);
});
