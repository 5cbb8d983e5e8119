import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkIdCard, idCardCheckChar, workerContracts } from '../sources/index.js';
import { contract } from './helpers/people.js';
import { errorsOf, rowOf } from './helpers/validation.js';

/** 17 digits and the check character they call for (ISO 7064 MOD 11-2). */
function withCheck(first17: string): string {
  return first17 + idCardCheckChar(first17);
}

function wrongCheck(id: string): string {
  return id.slice(0, 17) + (id[17] === '1' ? '2' : '1');
}

test('Taiwan residents\' residence permits (台湾居民居住证, region 830000) are accepted, as are Hong Kong\'s and Macao\'s', () => {
  // numbers as public validators (hutool IdcardUtil) test them: 810000/820000/830000, birth date, sequence, MOD 11-2
  assert.equal(checkIdCard('830000199201300022'), null);
  assert.equal(checkIdCard('810000199408230021'), null);
  for (const region of ['810000', '820000', '830000']) assert.equal(checkIdCard(withCheck(`${region}19900101123`)), null, region);
  assert.equal(checkIdCard(wrongCheck('830000199201300022')), 'check digit should be 2');
  assert.match(checkIdCard(withCheck('83000019900230123')) ?? '', /birth date .* not a real date/);
  // a permit's region is the whole 6 digits
  for (const region of ['830100', '811234', '840000']) {
    const reason = checkIdCard(withCheck(`${region}19900101123`));
    assert.ok(reason !== null, region);
    assert.ok(!reason.includes(region.slice(0, 4) + '19'), 'the reason does not repeat the number');
  }
  assert.equal(checkIdCard(withCheck('83010019900101123')), 'a Hong Kong, Macao or Taiwan residence permit number must start with 810000, 820000 or 830000');
});

test('2023 foreign permanent resident IDs (外国人永久居留身份证: 9, province, nationality, birth date, sequence, MOD 11-2) are accepted', () => {
  // hutool's test number for the new format: 9, 32 (Jiangsu), 682, born 1985-01-01, sequence 001, check 7
  assert.equal(checkIdCard('932682198501010017'), null);
  assert.equal(checkIdCard(withCheck('91112419810803002')), null, 'Beijing, nationality 124');
  assert.equal(checkIdCard(withCheck('94415619991231999')), null, 'Guangdong, nationality 156');
  assert.equal(checkIdCard(wrongCheck('932682198501010017')), 'check digit should be 7');
  assert.match(checkIdCard(withCheck('93268219850230001')) ?? '', /birth date .* not a real date/);
  assert.match(checkIdCard(withCheck('93268229990101001')) ?? '', /in the future/);
  // digits 2-3 must be a province of the mainland where it was applied for
  for (const first17 of ['90068219850101001', '97168219850101001', '99968219850101001', '91068219850101001']) {
    assert.equal(checkIdCard(withCheck(first17)), 'the region code (digits 2-3) of a foreign permanent resident ID (first digit 9) is not a province of the mainland');
  }
  // x for the check character as for citizens'
  const x = ['93268219850101002', '93268219850101003', '93268219850101004', '93268219850101005', '93268219850101006']
    .map((f) => f + idCardCheckChar(f)).find((id) => id.endsWith('X'));
  if (x) assert.equal(checkIdCard(x.slice(0, 17) + 'x'), null);
});

test('mainland resident IDs are checked as before; the old pass for 81/82 regions and 91 is gone', () => {
  assert.equal(checkIdCard('11010519491231002X'), null);
  assert.equal(checkIdCard(withCheck('71000019900101123')), null, '71 (Taiwan) as GB/T 2260 lists it');
  assert.match(checkIdCard(withCheck('99010619900101123')) ?? '', /province/);
  assert.match(checkIdCard(withCheck('81010519900101123')) ?? '', /810000, 820000 or 830000/);
});

test('worker-contracts takes the new kinds of ID in id_card, and reasons never repeat them', () => {
  for (const id of ['830000199201300022', '932682198501010017']) {
    rowOf(workerContracts.validate(contract(1, { id_card: id })));
  }
  const bad = wrongCheck('932682198501010017');
  const reason = errorsOf(workerContracts.validate(contract(2, { id_card: bad }))).id_card ?? '';
  assert.equal(reason, 'check digit should be 7');
  assert.ok(!reason.includes(bad.slice(0, 6)));
});
