import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { borrowEntities, datasets, readCsv } from '../sources/index.js';
import { errorsOf, rowOf } from './helpers/validation.js';

const PRODUCT = 'w1010100000000002858';

/** The seed's request example, as CSV cells. */
function seedRow(): Record<string, string> {
  return {
    product_code: PRODUCT,
    category_code: 'umbrella',
    entity_code: '2016000100010011',
    longitude: '83.66',
    latitude: '5.87',
    entity_name: '爱心雨伞',
    address_desc: '杭州市西湖区文三路478号',
    office_hours_desc: '09:00—22:00',
    contact_number: '0571-26888888',
    collect_rent: 'Y',
    rent_desc: '5元/小时',
    can_borrow: 'Y',
    can_borrow_cnt: '12',
    total_borrow_cnt: '20',
    upload_time: '2017-01-01 15:34:38',
  };
}


function reject(field: string, value: string): string | undefined {
  const cells = { ...seedRow(), [field]: value };
  return errorsOf(borrowEntities.validate(cells))[field];
}

function accept(field: string, value: string): void {
  const v = borrowEntities.validate({ ...seedRow(), [field]: value });
  assert.ok(v.ok, `${field}=${JSON.stringify(value)} should be valid: ${JSON.stringify(v.ok ? null : v.errors)}`);
}

test('dataset identity and field table follow the seed', () => {
  assert.equal(borrowEntities.name, 'borrow-entities');
  assert.equal(borrowEntities.method, 'zhima.merchant.borrow.entity.upload');
  assert.equal(datasets['borrow-entities'], borrowEntities);
  const table = borrowEntities.fields.map((f) => `${f.name}:${f.required ? 'R' : 'O'}:${f.maxLength}`);
  assert.deepEqual(table, [
    'product_code:R:20', 'category_code:R:32', 'entity_code:R:32', 'longitude:R:20', 'latitude:R:20',
    'entity_name:R:20', 'address_desc:O:50', 'office_hours_desc:O:20', 'contact_number:O:20',
    'collect_rent:R:1', 'rent_desc:O:30', 'can_borrow:R:1', 'can_borrow_cnt:R:5', 'total_borrow_cnt:R:6',
    'upload_time:R:19',
  ]);
});

test('the seed example row is valid: key, snapshot and biz_content in seed order', () => {
  const row = rowOf(borrowEntities.validate(seedRow()));
  assert.equal(row.key, 'umbrella/2016000100010011');
  assert.equal(row.snapshot, '2017-01-01 15:34:38');
  assert.equal(row.bizContent, JSON.stringify(seedRow()));
  assert.deepEqual(Object.keys(JSON.parse(row.bizContent) as object), borrowEntities.fields.map((f) => f.name));
});

test('product_code is defaulted when the column is absent or the cell empty; other values are refused', () => {
  const { product_code: _drop, ...withoutColumn } = seedRow();
  const absent = rowOf(borrowEntities.validate(withoutColumn));
  assert.equal((JSON.parse(absent.bizContent) as Record<string, string>)['product_code'], PRODUCT);
  assert.ok(absent.bizContent.startsWith(`{"product_code":"${PRODUCT}",`));
  const empty = rowOf(borrowEntities.validate({ ...seedRow(), product_code: '  ' }));
  assert.equal(empty.bizContent, absent.bizContent);
  assert.equal(reject('product_code', 'w1010100000000002859'), `must be ${PRODUCT}`);
});

test('empty optional fields are left out of biz_content, never sent as ""', () => {
  const cells = { ...seedRow(), address_desc: '', office_hours_desc: '   ', contact_number: '', rent_desc: '' };
  const body = JSON.parse(rowOf(borrowEntities.validate(cells)).bizContent) as Record<string, string>;
  for (const f of ['address_desc', 'office_hours_desc', 'contact_number', 'rent_desc']) assert.equal(f in body, false, f);
  const { address_desc: _a, rent_desc: _r, ...noColumns } = seedRow();
  const body2 = JSON.parse(rowOf(borrowEntities.validate(noColumns)).bizContent) as Record<string, string>;
  assert.equal('address_desc' in body2, false);
  assert.equal('rent_desc' in body2, false);
});

test('values are trimmed before use', () => {
  const row = rowOf(borrowEntities.validate({ ...seedRow(), entity_code: ' E1 ', category_code: 'power_bank ' }));
  assert.equal(row.key, 'power_bank/E1');
});

test('lengths are counted in characters: 20 Chinese characters fit entity_name, 21 do not', () => {
  accept('entity_name', '一二三四五六七八九十一二三四五六七八九十');
  assert.equal(reject('entity_name', '一二三四五六七八九十一二三四五六七八九十一'), 'is 21 characters, at most 20');
  accept('entity_name', '𠮷'.repeat(20)); // 40 UTF-16 units, 20 characters
  accept('address_desc', '杭'.repeat(50));
  assert.equal(reject('address_desc', '杭'.repeat(51)), 'is 51 characters, at most 50');
  assert.equal(reject('rent_desc', '元'.repeat(31)), 'is 31 characters, at most 30');
  assert.equal(reject('entity_code', 'x'.repeat(33)), 'is 33 characters, at most 32');
});

test('category_code must be umbrella or power_bank', () => {
  accept('category_code', 'umbrella');
  accept('category_code', 'power_bank');
  assert.equal(reject('category_code', 'bicycle'), 'must be one of: umbrella, power_bank');
  assert.match(reject('category_code', 'Umbrella') ?? '', /must be one of/);
});

test('longitude and latitude are decimal numbers within their ranges', () => {
  for (const v of ['120.15', '-180', '180', '0', '73.66']) accept('longitude', v);
  for (const v of ['-33.5', '90', '-90', '53.55']) accept('latitude', v);
  assert.equal(reject('longitude', '180.01'), 'must be a decimal number from -180 to 180');
  assert.equal(reject('longitude', '1.2e1'), 'must be a decimal number from -180 to 180');
  assert.equal(reject('latitude', '-90.5'), 'must be a decimal number from -90 to 90');
  assert.equal(reject('latitude', '北纬30'), 'must be a decimal number from -90 to 90');
});

test('collect_rent and can_borrow are Y or N', () => {
  for (const f of ['collect_rent', 'can_borrow']) {
    accept(f, 'Y');
    accept(f, 'N');
    assert.equal(reject(f, 'y'), 'must be one of: Y, N');
    const v = borrowEntities.validate({ ...seedRow(), [f]: 'YES' });
    // one reason per field, and the format's is the telling one
    assert.deepEqual(v.ok ? [] : v.errors.filter((e) => e.field === f).map((e) => e.reason), ['must be one of: Y, N']);
  }
});

test('counts are non-negative integers within their lengths', () => {
  accept('can_borrow_cnt', '0');
  accept('can_borrow_cnt', '99999');
  accept('total_borrow_cnt', '999999');
  assert.equal(reject('can_borrow_cnt', '-1'), 'must be a whole number of 0 or more (digits only)');
  assert.equal(reject('can_borrow_cnt', '1.5'), 'must be a whole number of 0 or more (digits only)');
  assert.equal(reject('can_borrow_cnt', '100000'), 'is 6 characters, at most 5');
  assert.equal(reject('total_borrow_cnt', '1000000'), 'is 7 characters, at most 6');
});

test('upload_time must be a real date-time', () => {
  accept('upload_time', '2024-02-29 10:00:00');
  assert.equal(reject('upload_time', '2023-02-29 10:00:00'), 'not a real date-time: that month has no such day');
  assert.equal(reject('upload_time', '2024-01-01 24:00:00'), 'not a real date-time: the hour must be 00-23');
  assert.equal(reject('upload_time', '2024/01/01 10:00:00'), "not a real date-time: expected yyyy-MM-dd HH:mm:ss, with '-' in the date, a space, then ':' in the time");
  // a phone number in the wrong column: the reason describes it, without it
  assert.equal(reject('upload_time', '13812345678'), 'not a real date-time: expected yyyy-MM-dd HH:mm:ss, got 11 characters of digits');
});

test('contact_number allows digits, spaces, - + and parentheses only', () => {
  for (const v of ['0571-26888888', '13112345678', '+86 (571) 2688-8888']) accept('contact_number', v);
  assert.match(reject('contact_number', '0571-2688 转 8') ?? '', /only digits/);
  assert.match(reject('contact_number', 'call me') ?? '', /only digits/);
});

test('every field error of a row is reported, not only the first', () => {
  const errors = errorsOf(borrowEntities.validate({
    category_code: 'bike', entity_code: '', longitude: '200', latitude: 'x', entity_name: '一'.repeat(21),
    collect_rent: 'maybe', can_borrow: 'N', can_borrow_cnt: '-3', total_borrow_cnt: '10', upload_time: '2023-02-29 00:00:00',
  }));
  assert.deepEqual(Object.keys(errors).sort(), [
    'category_code', 'collect_rent', 'entity_code', 'entity_name', 'latitude', 'longitude', 'upload_time', 'can_borrow_cnt',
  ].sort());
  assert.equal(errors['entity_code'], 'required, but empty');
  // collect_rent 'maybe' is both too long and not Y/N: one reason per field, the format's
  const v = borrowEntities.validate({ ...seedRow(), collect_rent: 'maybe' });
  assert.deepEqual(v.ok ? [] : v.errors.filter((e) => e.field === 'collect_rent').map((e) => e.reason), ['must be one of: Y, N']);
});

test('a missing required column is reported as such', () => {
  const { entity_name: _e, upload_time: _u, ...cells } = seedRow();
  const errors = errorsOf(borrowEntities.validate(cells));
  assert.deepEqual(errors, { entity_name: 'required column missing', upload_time: 'required column missing' });
});

test('checkHeader: missing required columns (not product_code) and unknown columns', () => {
  const all = borrowEntities.fields.map((f) => f.name);
  assert.deepEqual(borrowEntities.checkHeader(all), { missing: [], unknown: [] });
  assert.deepEqual(borrowEntities.checkHeader(all.filter((c) => c !== 'product_code')), { missing: [], unknown: [] });
  const cols = [...all.filter((c) => c !== 'latitude' && c !== 'address_desc'), 'memo'];
  assert.deepEqual(borrowEntities.checkHeader(cols), { missing: ['latitude'], unknown: ['memo'] });
});

test('safeCells returns a copy (no personal fields in this dataset) and masks stray personal columns', () => {
  const cells = { ...seedRow(), phone: '13112345678' };
  const safe = borrowEntities.safeCells(cells);
  assert.notEqual(safe, cells);
  assert.equal(safe['entity_name'], '爱心雨伞');
  assert.equal(safe['phone'], '131****5678');
});

test('a CSV file read and validated end to end', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alipay-sync-'));
  try {
    const file = path.join(dir, 'entities.csv');
    const header = borrowEntities.fields.map((f) => f.name).filter((n) => n !== 'product_code');
    const line = (o: Record<string, string>) => header.map((h) => `"${(o[h] ?? '').replace(/"/g, '""')}"`).join(',');
    const good = seedRow();
    const bad = { ...seedRow(), entity_code: 'B2', latitude: '95' };
    fs.writeFileSync(file, `\uFEFF${header.join(',')}\r\n${line(good)}\r\n\r\n${line(bad)}\r\n`);
    const results: string[] = [];
    for await (const rec of readCsv(file)) {
      assert.ok('cells' in rec);
      const v = borrowEntities.validate(rec.cells);
      results.push(`${rec.line}:${v.ok ? v.row.key : v.errors.map((e) => `${e.field} ${e.reason}`).join('; ')}`);
    }
    assert.deepEqual(results, ['2:umbrella/2016000100010011', '4:latitude must be a decimal number from -90 to 90']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
