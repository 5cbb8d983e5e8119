import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AGREEMENT_FIELDS, agreementEffects, maskLogonId } from '../sources/agreement-effects.js';
import { agreementQueries } from '../sources/agreement-queries.js';
import type { Dataset, Validation } from '../sources/dataset.js';
import { errorsOf, rowOf } from './helpers/validation.js';

const EMAIL = 'zhangsan.wei@example.com';
const MOBILE = '13812345678';

/** The seed's request example, with its "GENERAL_WITHHOLD ING_P" typo fixed and a letters-and-digits external number. */
function effectRow(): Record<string, string> {
  return {
    personal_product_code: 'GENERAL_WITHHOLDING_P',
    alipay_user_id: '2088101122675263',
    alipay_logon_id: EMAIL,
    sign_scene: 'INDUSTRY|MEDICAL',
    external_agreement_no: 'test20240501A',
    third_party_type: 'PARTNER',
    agreement_no: '20170322450983769228',
  };
}

/** The same agreement named the other way: by the merchant's number, no agreement_no. */
function externalRow(): Record<string, string> {
  const { agreement_no: _no, ...rest } = effectRow();
  return rest;
}

function queryRow(): Record<string, string> {
  return {
    personal_product_code: 'GENERAL_WITHHOLDING_P',
    alipay_user_id: '2088101122675263',
    alipay_logon_id: 'abx@alitest.com',
    sign_scene: 'INDUSTRY|MEDICAL',
    third_party_type: 'PARTNER',
    product_code: 'GENERAL_WITHHOLDING',
  };
}


function body(v: Validation): Record<string, string> {
  return JSON.parse(rowOf(v).bizContent) as Record<string, string>;
}

/** No reason and no safe cell of any row ever shows the logon id in clear. */
function assertNoClearLogon(ds: Dataset, cells: Record<string, string>, logon: string): void {
  const v = ds.validate(cells);
  if (!v.ok) for (const e of v.errors) assert.ok(!e.reason.includes(logon), `reason for ${e.field} echoes the logon id: ${e.reason}`);
  assert.ok(!JSON.stringify(ds.safeCells(cells)).includes(logon), 'safeCells shows the logon id in clear');
}

test('agreement-effects: identity and field table follow seed 001', () => {
  assert.equal(agreementEffects.name, 'agreement-effects');
  assert.equal(agreementEffects.method, 'alipay.user.agreement.sign.effect');
  assert.deepEqual(agreementEffects.fields.map((f) => `${f.name}:${f.required ? 'R' : 'O'}:${f.maxLength}${f.personal ? ':P' : ''}`), [
    'personal_product_code:O:64', 'alipay_user_id:O:32', 'alipay_open_id:O:128', 'alipay_logon_id:O:100:P', 'sign_scene:O:64',
    'external_agreement_no:O:32', 'third_party_type:O:32', 'agreement_no:O:64',
  ]);
});

test('AGREEMENT_FIELDS are the answer fields, with Alipay\'s spelling pricipal_type', () => {
  assert.equal(AGREEMENT_FIELDS.length, 16);
  assert.ok((AGREEMENT_FIELDS as readonly string[]).includes('pricipal_type'));
  assert.ok(!(AGREEMENT_FIELDS as readonly string[]).includes('principal_type'));
  assert.equal(new Set(AGREEMENT_FIELDS).size, AGREEMENT_FIELDS.length);
});

test('agreement-effects: the full row (the seed example) is valid; key is agreement_no; biz_content carries agreement_no alone; no snapshot', () => {
  const row = rowOf(agreementEffects.validate(effectRow()));
  assert.equal(row.key, '20170322450983769228');
  assert.equal(row.snapshot, '');
  // "如果传了该参数,其他参数会被忽略": Alipay ignores the rest, so it is not sent
  assert.equal(row.bizContent, '{"agreement_no":"20170322450983769228"}');
});

test('agreement-effects: the rows without agreement_no send every field they have, in seed order', () => {
  assert.equal(rowOf(agreementEffects.validate(externalRow())).bizContent, JSON.stringify(externalRow()));
});

test('agreement-effects: agreement_no alone is enough (Alipay ignores the rest then)', () => {
  const row = rowOf(agreementEffects.validate({ agreement_no: ' 20170322450983769228 ' }));
  assert.equal(row.key, '20170322450983769228');
  assert.equal(row.bizContent, '{"agreement_no":"20170322450983769228"}');
  // a DEFAULT|DEFAULT scene does not matter when agreement_no names the agreement
  assert.ok(agreementEffects.validate({ agreement_no: '1', sign_scene: 'DEFAULT|DEFAULT', external_agreement_no: 'A1' }).ok);
});

test('agreement-effects: with agreement_no, malformed other fields do not refuse the row and are not sent; key and body are those of agreement_no alone', () => {
  const alone = rowOf(agreementEffects.validate({ agreement_no: '20170322450983769228' }));
  const malformed: Record<string, string>[] = [
    { alipay_user_id: '12345' },
    { third_party_type: 'OTHER' },
    { external_agreement_no: 'not-alnum' },
    { alipay_logon_id: 'not an account' },
    { personal_product_code: 'P'.repeat(65), sign_scene: 'S'.repeat(65) },
    { sign_scene: 'DEFAULT|DEFAULT', external_agreement_no: 'A1', alipay_user_id: '', alipay_logon_id: '' },
    { ...effectRow(), alipay_user_id: '2088', alipay_logon_id: 'x@y', third_party_type: 'partner', external_agreement_no: '协议1' },
  ];
  for (const other of malformed) {
    const row = rowOf(agreementEffects.validate({ ...other, agreement_no: ' 20170322450983769228 ' }));
    assert.deepEqual(row, alone, JSON.stringify(other));
    assert.equal(row.key, '20170322450983769228');
    assert.equal(row.bizContent, '{"agreement_no":"20170322450983769228"}');
  }
});

test('agreement-effects: with agreement_no, only agreement_no\'s own problem refuses the row (the others are ignored, not reported)', () => {
  const long = '9'.repeat(65);
  const errors = errorsOf(agreementEffects.validate({ agreement_no: long, alipay_user_id: '12345', third_party_type: 'OTHER', alipay_logon_id: 'not an account' }));
  assert.deepEqual(errors, { agreement_no: 'is 65 characters, at most 64' });
  assert.ok(!Object.values(errors).some((r) => r.includes(long)), 'the reason names no value');
  // an empty or blank agreement_no is no agreement_no: the other fields must name the agreement then
  for (const blank of ['', '   ']) {
    assert.deepEqual(Object.keys(errorsOf(agreementEffects.validate({ ...externalRow(), agreement_no: blank, alipay_user_id: '12345' }))), ['alipay_user_id']);
    assert.equal(rowOf(agreementEffects.validate({ ...externalRow(), agreement_no: blank })).key, 'ext:test20240501A|INDUSTRY|MEDICAL');
  }
});

test('agreement-effects: by external_agreement_no + sign_scene + product + user; key ext:no|scene', () => {
  const row = rowOf(agreementEffects.validate(externalRow()));
  assert.equal(row.key, 'ext:test20240501A|INDUSTRY|MEDICAL');
  // the logon id alone names the user as well
  const { alipay_user_id: _u, ...byLogon } = externalRow();
  assert.equal(rowOf(agreementEffects.validate(byLogon)).key, 'ext:test20240501A|INDUSTRY|MEDICAL');
  const { alipay_logon_id: _l, ...byId } = externalRow();
  assert.ok(agreementEffects.validate({ ...byId, alipay_logon_id: '' }).ok);
});

test('agreement-effects: a row that names no agreement is refused on agreement_no', () => {
  const errors = errorsOf(agreementEffects.validate({ personal_product_code: 'P', alipay_user_id: '2088101122675263', sign_scene: 'INDUSTRY|X' }));
  assert.deepEqual(Object.keys(errors), ['agreement_no']);
  assert.match(errors['agreement_no'] ?? '', /agreement_no, or external_agreement_no/);
  assert.deepEqual(Object.keys(errorsOf(agreementEffects.validate({}))), ['agreement_no']);
});

test('agreement-effects: with external_agreement_no, sign_scene and a user are required and the scene is not DEFAULT|DEFAULT', () => {
  const { sign_scene: _s, personal_product_code: _p, alipay_user_id: _u, alipay_logon_id: _l, ...bare } = externalRow();
  const errors = errorsOf(agreementEffects.validate(bare));
  assert.deepEqual(Object.keys(errors).sort(), ['alipay_user_id', 'sign_scene']);
  assert.match(errors['alipay_user_id'] ?? '', /one of alipay_user_id, alipay_open_id or alipay_logon_id is required/);
  assert.match(errors['sign_scene'] ?? '', /required with external_agreement_no/);
  const dflt = errorsOf(agreementEffects.validate({ ...externalRow(), sign_scene: 'DEFAULT|DEFAULT' }));
  assert.deepEqual(Object.keys(dflt), ['sign_scene']);
  assert.match(dflt['sign_scene'] ?? '', /must not be DEFAULT\|DEFAULT/);
});

test('agreement-effects: personal_product_code is optional with external_agreement_no ("可选"); the key ext:no|scene is the same with or without it', () => {
  const withIt = rowOf(agreementEffects.validate(externalRow()));
  for (const without of [{ ...externalRow(), personal_product_code: '' }, { ...externalRow(), personal_product_code: '  ' }, (() => {
    const { personal_product_code: _p, ...rest } = externalRow();
    return rest;
  })()]) {
    const row = rowOf(agreementEffects.validate(without));
    assert.equal(row.key, 'ext:test20240501A|INDUSTRY|MEDICAL');
    assert.equal(row.key, withIt.key);
    const b = JSON.parse(row.bizContent) as Record<string, string>;
    assert.equal('personal_product_code' in b, false, 'not sent when absent');
    assert.equal(b['external_agreement_no'], 'test20240501A');
    assert.equal(b['sign_scene'], 'INDUSTRY|MEDICAL');
  }
  // the minimal row: number, scene, a user
  const minimal = rowOf(agreementEffects.validate({ external_agreement_no: 'EXT1', sign_scene: 'INDUSTRY|MEDICAL', alipay_logon_id: EMAIL }));
  assert.equal(minimal.key, 'ext:EXT1|INDUSTRY|MEDICAL');
  assert.ok(!minimal.key.includes(EMAIL), 'the key holds no logon id');
  // still checked for length when given
  assert.equal(errorsOf(agreementEffects.validate({ ...externalRow(), personal_product_code: 'P'.repeat(65) }))['personal_product_code'], 'is 65 characters, at most 64');
  // the reason for a row that names no agreement no longer asks for it
  const reason = errorsOf(agreementEffects.validate({ alipay_user_id: '2088101122675263' }))['agreement_no'] ?? '';
  assert.equal(reason, 'name the agreement: give agreement_no, or external_agreement_no with sign_scene and alipay_user_id, alipay_open_id or alipay_logon_id');
});

test('agreement-effects: a field with its own error gets no second, cross-field one', () => {
  const v = agreementEffects.validate({ ...externalRow(), sign_scene: 'X'.repeat(65) });
  const reasons = v.ok ? [] : v.errors.filter((e) => e.field === 'sign_scene').map((e) => e.reason);
  assert.deepEqual(reasons, ['is 65 characters, at most 64']);
});

for (const ds of [agreementEffects, agreementQueries]) {
  const base = ds === agreementEffects ? externalRow : queryRow;

  test(`${ds.name}: alipay_user_id is 2088 + digits, 16 to 32 in all (longer ids are announced)`, () => {
    for (const ok of ['2088000011112222', '20881011226752631', '2088'.padEnd(32, '7')]) assert.ok(ds.validate({ ...base(), alipay_user_id: ok }).ok, ok);
    for (const bad of ['1088101122675263', '208810112267526', '2088１01122675263', '2088-01122675263', '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5']) {
      assert.equal(errorsOf(ds.validate({ ...base(), alipay_user_id: bad }))['alipay_user_id'], 'must be 2088 followed by digits, 16 to 32 in all (an open id goes in alipay_open_id)', bad);
    }
    assert.equal(errorsOf(ds.validate({ ...base(), alipay_user_id: '2088'.padEnd(33, '7') }))['alipay_user_id'], 'is 33 characters, at most 32');
  });

  test(`${ds.name}: alipay_logon_id is an email or an 11-digit mainland mobile, and never echoed`, () => {
    for (const ok of ['abx@alitest.com', 'a.b+c@mail.example.cn', '13812345678', '19900001111']) {
      assert.ok(ds.validate({ ...base(), alipay_logon_id: ok }).ok, ok);
    }
    for (const bad of ['abx@alitest', 'abx.alitest.com', 'a b@x.com', '12812345678', '1381234567', '+8613812345678', '138 1234 5678', 'a@b@c.com']) {
      const errors = errorsOf(ds.validate({ ...base(), alipay_logon_id: bad }));
      assert.equal(errors['alipay_logon_id'], 'must be an email address or an 11-digit mainland mobile number', bad);
      assertNoClearLogon(ds, { ...base(), alipay_logon_id: bad }, bad);
    }
    const long = `${'a'.repeat(95)}@x.com`;
    assert.equal(errorsOf(ds.validate({ ...base(), alipay_logon_id: long }))['alipay_logon_id'], 'is 101 characters, at most 100');
    assertNoClearLogon(ds, { ...base(), alipay_logon_id: long }, long);
  });

  test(`${ds.name}: third_party_type is PARTNER or MERCHANT`, () => {
    assert.ok(ds.validate({ ...base(), third_party_type: 'MERCHANT' }).ok);
    assert.equal(errorsOf(ds.validate({ ...base(), third_party_type: 'partner' }))['third_party_type'], 'must be one of: PARTNER, MERCHANT');
  });

  test(`${ds.name}: safeCells masks alipay_logon_id (email local part, phone middle) and keeps other cells`, () => {
    const email = ds.safeCells({ ...base(), alipay_logon_id: EMAIL });
    assert.equal(email['alipay_logon_id'], 'zh**********@example.com');
    assert.equal(email['alipay_user_id'], '2088101122675263');
    assert.equal(email['sign_scene'], 'INDUSTRY|MEDICAL');
    assert.equal(ds.safeCells({ ...base(), alipay_logon_id: MOBILE })['alipay_logon_id'], '138****5678');
    // an invalid value is starred completely, and stray personal columns are masked as everywhere
    const odd = ds.safeCells({ ...base(), alipay_logon_id: 'not-an-account', phone: '13112345678' });
    assert.equal(odd['alipay_logon_id'], '**************');
    assert.equal(odd['phone'], '131****5678');
    for (const logon of [EMAIL, MOBILE]) assertNoClearLogon(ds, { ...base(), alipay_logon_id: logon }, logon);
  });

  test(`${ds.name}: empty optional fields are left out of biz_content, values trimmed`, () => {
    const cells = { ...base(), third_party_type: '', alipay_logon_id: '  ', sign_scene: ' INDUSTRY|MEDICAL ' };
    const b = body(ds.validate(cells));
    assert.equal('third_party_type' in b, false);
    assert.equal('alipay_logon_id' in b, false);
    assert.equal(b['sign_scene'], 'INDUSTRY|MEDICAL');
    assert.deepEqual(Object.keys(b), ds.fields.map((f) => f.name).filter((n) => n in b));
  });
}

test('agreement-effects: external_agreement_no is letters and digits, at most 32', () => {
  assert.ok(agreementEffects.validate({ ...externalRow(), external_agreement_no: 'A'.repeat(32) }).ok);
  assert.equal(errorsOf(agreementEffects.validate({ ...externalRow(), external_agreement_no: 'A'.repeat(33) }))['external_agreement_no'], 'is 33 characters, at most 32');
  for (const bad of ['test-1', 'test_1', 'ab c', '协议1']) {
    assert.equal(errorsOf(agreementEffects.validate({ ...externalRow(), external_agreement_no: bad }))['external_agreement_no'], 'may contain only letters and digits', bad);
  }
});

test('agreement-effects: checkHeader wants agreement_no or external_agreement_no, and reports unknown columns', () => {
  assert.deepEqual(agreementEffects.checkHeader(['agreement_no']), { missing: [], unknown: [] });
  assert.deepEqual(agreementEffects.checkHeader(['external_agreement_no', 'sign_scene', 'memo']), { missing: [], unknown: ['memo'] });
  assert.deepEqual(agreementEffects.checkHeader(['alipay_user_id']), { missing: ['agreement_no or external_agreement_no'], unknown: [] });
});

test('maskLogonId: short local parts keep less, odd values are fully starred', () => {
  assert.equal(maskLogonId('abcde@example.com'), 'ab***@example.com');
  assert.equal(maskLogonId('abc@example.com'), 'a**@example.com');
  assert.equal(maskLogonId('a@example.com'), '*@example.com');
  assert.equal(maskLogonId('13812345678'), '138****5678');
  assert.equal(maskLogonId('12345'), '*****');
  assert.equal(maskLogonId('张三@例子.中国'), '张*@例子.中国');
});

test('agreement-queries: identity and field table follow seed 002', () => {
  assert.equal(agreementQueries.name, 'agreement-queries');
  assert.equal(agreementQueries.method, 'alipay.user.agreement.batch.query');
  assert.deepEqual(agreementQueries.fields.map((f) => `${f.name}:${f.required ? 'R' : 'O'}:${f.maxLength}${f.personal ? ':P' : ''}`), [
    'personal_product_code:R:64', 'alipay_user_id:O:32', 'alipay_open_id:O:128', 'alipay_logon_id:O:100:P', 'sign_scene:O:64',
    'third_party_type:O:32', 'product_code:O:64',
  ]);
});

test('agreement-queries: the seed example is valid; key names user and every filter; no snapshot', () => {
  const row = rowOf(agreementQueries.validate(queryRow()));
  assert.equal(row.key, '2088101122675263|GENERAL_WITHHOLDING_P|INDUSTRY|MEDICAL|PARTNER|GENERAL_WITHHOLDING');
  assert.equal(row.snapshot, '');
  assert.equal(row.bizContent, JSON.stringify(queryRow()));
});

test('agreement-queries: key with empty parts, and by logon id when there is no user id', () => {
  const minimal = rowOf(agreementQueries.validate({ personal_product_code: 'P1', alipay_user_id: '2088101122675263' }));
  assert.equal(minimal.key, '2088101122675263|P1|||');
  assert.equal(minimal.bizContent, '{"personal_product_code":"P1","alipay_user_id":"2088101122675263"}');
  const byLogon = rowOf(agreementQueries.validate({ personal_product_code: 'P1', alipay_logon_id: MOBILE, third_party_type: 'MERCHANT' }));
  assert.equal(byLogon.key, `logon:${MOBILE}|P1||MERCHANT|`);
});

test('agreement-queries: personal_product_code is required; one of alipay_user_id / alipay_open_id / alipay_logon_id too', () => {
  const { personal_product_code: _p, ...noProduct } = queryRow();
  assert.deepEqual(errorsOf(agreementQueries.validate(noProduct)), { personal_product_code: 'required column missing' });
  assert.deepEqual(errorsOf(agreementQueries.validate({ ...queryRow(), personal_product_code: ' ' })), { personal_product_code: 'required, but empty' });
  const noUser = errorsOf(agreementQueries.validate({ personal_product_code: 'P1', alipay_user_id: '', alipay_logon_id: '' }));
  assert.deepEqual(noUser, { alipay_user_id: 'one of alipay_user_id, alipay_open_id or alipay_logon_id is required' });
});

test('agreement-queries: checkHeader wants personal_product_code and a user column', () => {
  assert.deepEqual(agreementQueries.checkHeader(['personal_product_code', 'alipay_logon_id']), { missing: [], unknown: [] });
  assert.deepEqual(agreementQueries.checkHeader(['sign_scene', 'x']), {
    missing: ['personal_product_code', 'alipay_user_id or alipay_open_id or alipay_logon_id'], unknown: ['x'],
  });
});
