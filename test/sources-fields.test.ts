import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildBizContent,
  charLength,
  checkHeaderAgainst,
  isDateTime,
  isNonNegativeInteger,
  maskIdCard,
  maskName,
  maskPersonal,
  maskPhone,
  numberInRange,
  oneOf,
  safeCellsFor,
  validateFields,
  type FieldSpec,
} from '../sources/index.js';

const FIELDS: readonly FieldSpec[] = [
  { name: 'code', required: true, maxLength: 5 },
  { name: 'name', required: true, maxLength: 20 },
  { name: 'note', required: false, maxLength: 3 },
  { name: 'count', required: false, maxLength: 4, check: isNonNegativeInteger },
  { name: 'real_name', required: false, maxLength: 10, personal: true },
];

test('charLength counts code points, not UTF-16 units', () => {
  assert.equal(charLength(''), 0);
  assert.equal(charLength('abc'), 3);
  assert.equal(charLength('爱心雨伞'), 4);
  assert.equal(charLength('𠮷野家'), 3); // 𠮷 is outside the BMP: two UTF-16 units
  assert.equal('𠮷野家'.length, 4);
});

test('validateFields trims cells and treats empty as absent', () => {
  const r = validateFields(FIELDS, { code: '  A1 ', name: '\t张三\u3000', note: '   ', count: '' });
  assert.deepEqual(r.errors, []);
  assert.equal(r.values['code'], 'A1');
  assert.equal(r.values['name'], '张三');
  assert.equal(r.values['note'], undefined);
  assert.equal(r.values['count'], undefined);
  assert.equal(r.values['real_name'], undefined);
});

test('validateFields tells a missing column from an empty cell', () => {
  const r = validateFields(FIELDS, { name: '  ' });
  assert.deepEqual(r.errors, [
    { field: 'code', reason: 'required column missing' },
    { field: 'name', reason: 'required, but empty' },
  ]);
});

test('validateFields checks lengths in characters and reports every problem of the row', () => {
  const r = validateFields(FIELDS, { code: '123456', name: '一二三四五六七八九十一二三四五六七八九十一', note: 'abcd', count: '12a' });
  assert.deepEqual(r.errors, [
    { field: 'code', reason: 'is 6 characters, at most 5' },
    { field: 'name', reason: 'is 21 characters, at most 20' },
    { field: 'note', reason: 'is 4 characters, at most 3' },
    { field: 'count', reason: 'must be a whole number of 0 or more (digits only)' },
  ]);
  // exactly at the limit, including characters that take two UTF-16 units
  const ok = validateFields(FIELDS, { code: '𠮷𠮷𠮷𠮷𠮷', name: '一二三四五六七八九十一二三四五六七八九十' });
  assert.deepEqual(ok.errors, []);
});

test('validateFields applies defaults when the column is absent or the cell empty', () => {
  const defaults = { code: 'DEF' };
  assert.equal(validateFields(FIELDS, { name: 'x' }, defaults).values['code'], 'DEF');
  assert.equal(validateFields(FIELDS, { name: 'x', code: ' ' }, defaults).values['code'], 'DEF');
  assert.equal(validateFields(FIELDS, { name: 'x', code: 'MINE' }, defaults).values['code'], 'MINE');
  assert.deepEqual(validateFields(FIELDS, { name: 'x' }, defaults).errors, []);
});

test('validateFields ignores inherited property names in cells', () => {
  const r = validateFields([{ name: 'constructor', required: true, maxLength: 5 }], {});
  assert.deepEqual(r.errors, [{ field: 'constructor', reason: 'required column missing' }]);
});

test('checkHeaderAgainst reports missing required and unknown columns; defaults are not missing', () => {
  assert.deepEqual(checkHeaderAgainst(FIELDS, ['name', 'extra', 'note']), { missing: ['code'], unknown: ['extra'] });
  assert.deepEqual(checkHeaderAgainst(FIELDS, ['name'], { code: 'X' }), { missing: [], unknown: [] });
  assert.deepEqual(checkHeaderAgainst(FIELDS, ['code', 'name', 'count', 'real_name', 'note']), { missing: [], unknown: [] });
});

test('buildBizContent keeps field order, omits absent values, never sends ""', () => {
  const json = buildBizContent(FIELDS, { count: '7', name: '张三', code: 'A', note: undefined, real_name: '' });
  assert.equal(json, '{"code":"A","name":"张三","count":"7"}');
  assert.deepEqual(Object.keys(JSON.parse(json) as object), ['code', 'name', 'count']);
  assert.equal(buildBizContent(FIELDS, { code: 'a"b\\c\n' }), '{"code":"a\\"b\\\\c\\n"}');
});

test('isDateTime accepts only real calendar times in yyyy-MM-dd HH:mm:ss', () => {
  for (const ok of ['2024-02-29 00:00:00', '2000-02-29 12:30:45', '2017-01-01 15:34:38', '2023-12-31 23:59:59', '2023-04-30 08:00:00']) {
    assert.equal(isDateTime(ok), null, ok);
  }
  for (const bad of [
    '2023-02-29 10:00:00', // not a leap year
    '1900-02-29 10:00:00', // century, not a leap year
    '2024-02-30 10:00:00',
    '2024-04-31 10:00:00',
    '2024-13-01 10:00:00',
    '2024-00-10 10:00:00',
    '2024-01-00 10:00:00',
    '2024-01-01 24:00:00',
    '2024-01-01 23:60:00',
    '2024-01-01 23:59:60',
    '2024-1-01 10:00:00',
    '2024-01-01T10:00:00',
    '2024-01-01 10:00',
    '2024-01-01 10:00:00.000',
    '2024/01/01 10:00:00',
    '２０２４-01-01 10:00:00',
    '',
  ]) {
    assert.notEqual(isDateTime(bad), null, bad);
  }
  // each reason names the part that is wrong, never the value
  const reasons: Record<string, string> = {
    '2024-02-30 10:00:00': 'not a real date-time: that month has no such day',
    '2023-02-29 10:00:00': 'not a real date-time: that month has no such day',
    '2024-01-00 10:00:00': 'not a real date-time: that month has no such day',
    '0000-01-01 10:00:00': 'not a real date-time: the year must be 0001 or later',
    '2024-13-01 10:00:00': 'not a real date-time: the month must be 01-12',
    '2024-01-01 24:00:00': 'not a real date-time: the hour must be 00-23',
    '2024-01-01 23:60:00': 'not a real date-time: the minute must be 00-59',
    '2024-01-01 23:59:60': 'not a real date-time: the second must be 00-59',
    '2024-01-01T10:00:00': "not a real date-time: expected yyyy-MM-dd HH:mm:ss, with '-' in the date, a space, then ':' in the time",
    '330106199001011234': 'not a real date-time: expected yyyy-MM-dd HH:mm:ss, got 18 characters of digits',
    '2024-1-01 10:00:00': 'not a real date-time: expected yyyy-MM-dd HH:mm:ss, got 18 characters: digits, spaces and punctuation',
    '２０２４-01-01 10:00:00': 'not a real date-time: expected yyyy-MM-dd HH:mm:ss, got 19 characters: digits, spaces, punctuation and non-ASCII characters',
    '张三 at 10am': 'not a real date-time: expected yyyy-MM-dd HH:mm:ss, got 10 characters: digits, letters, spaces and non-ASCII characters',
  };
  for (const [value, reason] of Object.entries(reasons)) assert.equal(isDateTime(value), reason, value);
});

test('numberInRange takes plain decimal text within the range', () => {
  const lon = numberInRange(-180, 180);
  for (const ok of ['120.15', '-33.5', '0', '-0', '180', '-180', '180.000', '83.66', '007']) assert.equal(lon(ok), null, ok);
  for (const bad of ['180.0001', '-180.5', '1e2', '+1', ' 1', '1 ', '1.', '.5', '-', '', 'abc', '1,5', '0x10', 'Infinity', 'NaN']) {
    assert.equal(lon(bad), 'must be a decimal number from -180 to 180', bad);
  }
  assert.equal(numberInRange(-90, 90)('90.1'), 'must be a decimal number from -90 to 90');
});

test('oneOf lists the allowed values and is case-sensitive', () => {
  const yn = oneOf(['Y', 'N']);
  assert.equal(yn('Y'), null);
  assert.equal(yn('N'), null);
  assert.equal(yn('y'), 'must be one of: Y, N');
  assert.equal(yn('Yes'), 'must be one of: Y, N');
});

test('isNonNegativeInteger accepts digits only', () => {
  for (const ok of ['0', '12', '00012', '99999']) assert.equal(isNonNegativeInteger(ok), null, ok);
  for (const bad of ['-1', '1.0', '+1', '1e3', '1,000', '１２', '']) assert.notEqual(isNonNegativeInteger(bad), null, bad);
});

test('maskName keeps the first character only', () => {
  assert.equal(maskName('张三'), '张*');
  assert.equal(maskName('欧阳小明'), '欧***');
  assert.equal(maskName('𠮷野'), '𠮷*');
  assert.equal(maskName('张'), '*'); // one character alone would be the name in clear
  assert.equal(maskName(''), '');
});

test('maskIdCard keeps first and last four', () => {
  assert.equal(maskIdCard('330110199001011234'), '3301**********1234');
  assert.equal(maskIdCard('33011019900101123X'), '3301**********123X');
  assert.equal(maskIdCard('123456789'), '1234*6789');
  assert.equal(maskIdCard('12345678'), '********');
  assert.equal(maskIdCard('1234'), '****');
  assert.equal(maskIdCard(''), '');
});

test('maskPhone keeps first three and last four', () => {
  assert.equal(maskPhone('13112345678'), '131****5678');
  assert.equal(maskPhone('12345678'), '123*5678');
  assert.equal(maskPhone('1234567'), '*******');
  assert.equal(maskPhone('110'), '***');
});

test('maskPersonal chooses by field name; other personal fields are all stars', () => {
  assert.equal(maskPersonal('real_name', '张三'), '张*');
  assert.equal(maskPersonal('id_card', '330110199001011234'), '3301**********1234');
  assert.equal(maskPersonal('phone', '13112345678'), '131****5678');
  assert.equal(maskPersonal('bank_account', '6222021234'), '**********');
  assert.equal(maskPersonal('address', '杭州'), '**');
});

test('safeCellsFor masks personal fields and well-known personal columns, leaves the rest', () => {
  const cells = { code: 'A1', real_name: '张三', phone: '13112345678', note: 'hi' };
  const safe = safeCellsFor(FIELDS, cells);
  assert.deepEqual(safe, { code: 'A1', real_name: '张*', phone: '131****5678', note: 'hi' });
  assert.equal(cells.real_name, '张三'); // a copy, the input is untouched
});
