import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beijingDateTime, borrowEntities, borrowEntitiesWith, datasets, readCsv } from '../sources/index.js';
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

const CATEGORY_REASON = 'must be one of: umbrella, power_bank (test, for joint testing 联调, only with --allow-test-category)';

test('category_code must be umbrella or power_bank', () => {
  accept('category_code', 'umbrella');
  accept('category_code', 'power_bank');
  assert.equal(reject('category_code', 'bicycle'), CATEGORY_REASON);
  assert.match(reject('category_code', 'Umbrella') ?? '', /must be one of/);
});

test('category_code test (联调) only behind the dataset option allowTestCategory', () => {
  // the default dataset, the one the registry holds, refuses it with the same reason as any other value
  assert.equal(reject('category_code', 'test'), CATEGORY_REASON);
  const joint = borrowEntitiesWith({ allowTestCategory: true });
  assert.notEqual(joint, borrowEntities);
  assert.equal(joint.name, 'borrow-entities');
  assert.equal(joint.method, borrowEntities.method);
  assert.deepEqual(joint.fields.map((f) => f.name), borrowEntities.fields.map((f) => f.name));
  const row = rowOf(joint.validate({ ...seedRow(), category_code: 'test' }));
  assert.equal(row.key, 'test/2016000100010011');
  assert.equal(JSON.parse(row.bizContent).category_code, 'test');
  // the others stay as they are
  assert.ok(joint.validate({ ...seedRow(), category_code: 'umbrella' }).ok);
  assert.equal(errorsOf(joint.validate({ ...seedRow(), category_code: 'bicycle' })).category_code, 'must be one of: umbrella, power_bank, test');
  assert.equal(errorsOf(joint.validate({ ...seedRow(), category_code: 'TEST' })).category_code, 'must be one of: umbrella, power_bank, test');
  assert.equal(datasets['borrow-entities'], borrowEntities, 'the registry keeps the strict dataset');
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

const CONTACT_REASON = 'must be an 11-digit mobile number or a landline as area code-number (e.g. 0571-26888888)';

test('contact_number is as the page says: an 11-digit mobile number, or a landline as area code-number', () => {
  for (const v of ['0571-26888888', '010-12345678', '021-6321123', '0898-6688123', '13112345678', '19912345678']) accept('contact_number', v);
  for (const v of [
    '+86 (571) 2688-8888', '0571 26888888', '057126888888', '0571-2688 转 8', 'call me', '1311234567', '131123456789', '12812345678',
    '0571-268888', '0571-268888889', '571-26888888', '00571-26888888', '0571-06888888', '0571-2688-8888', '05-26888888', '-26888888', '0571-',
  ]) {
    assert.equal(reject('contact_number', v), CONTACT_REASON, v);
  }
  assert.ok(!CONTACT_REASON.includes('1311'), 'the reason names no value');
});

const HOURS_REASON = 'must be opening hours as HH:mm-HH:mm on a 24-hour clock (e.g. 09:00-22:00; all day is 00:00-24:00)';

test('office_hours_desc is xx:xx-xx:xx on a 24-hour clock, with the page\'s own dash too', () => {
  for (const v of ['09:00-22:00', '00:00-24:00', '09:00—22:00', '00:00—24:00', '18:00-02:00', '07:30-23:59']) accept('office_hours_desc', v);
  for (const v of [
    '9:00-22:00', '09:00 - 22:00', '09:00~22:00', '09:00–22:00', '09:00-24:30', '24:00-08:00', '09:60-22:00', '25:00-26:00',
    '09:00-09:00', '09.00-22.00', '全天', '9点到22点', '09:00-22:00 周一至周五',
  ]) {
    assert.equal(reject('office_hours_desc', v), HOURS_REASON, v);
  }
});

/** 2024-05-02 12:30:00 in Beijing. */
const NOW = Date.UTC(2024, 4, 2, 4, 30, 0);

test('upload_time more than 10 minutes ahead of Beijing time is refused (the newest snapshot wins for good)', () => {
  const ds = borrowEntitiesWith({ now: () => NOW });
  const check = (t: string) => errorsOf(ds.validate({ ...seedRow(), upload_time: t })).upload_time;
  for (const t of ['2024-05-02 12:30:00', '2024-05-02 12:40:00', '2017-01-01 15:34:38']) assert.ok(ds.validate({ ...seedRow(), upload_time: t }).ok, t);
  const reason = check('2024-05-02 12:40:01');
  assert.match(reason ?? '', /more than 10 minutes ahead of the time in Beijing/);
  for (const t of ['2099-05-02 12:30:00', '2024-05-03 00:00:00']) assert.equal(check(t), reason, t);
  assert.ok(!(reason ?? '').includes('2024') && !(reason ?? '').includes('12:40'), 'the reason names no value');
  // a date-time that is not real still says so first
  assert.equal(check('2099-02-30 00:00:00'), 'not a real date-time: that month has no such day');
  // the clock is read as it goes
  let now = NOW;
  const moving = borrowEntitiesWith({ now: () => now });
  assert.equal(moving.validate({ ...seedRow(), upload_time: '2024-05-02 13:00:00' }).ok, false);
  now += 20 * 60_000;
  assert.equal(moving.validate({ ...seedRow(), upload_time: '2024-05-02 13:00:00' }).ok, true);
});

test('upload_time is compared with Beijing time whatever the host\'s time zone', () => {
  const saved = process.env.TZ;
  try {
    for (const tz of ['America/Los_Angeles', 'Pacific/Kiritimati', 'UTC', 'Asia/Shanghai']) {
      process.env.TZ = tz;
      const ds = borrowEntitiesWith({ now: () => NOW });
      assert.ok(ds.validate({ ...seedRow(), upload_time: '2024-05-02 12:39:59' }).ok, tz);
      assert.equal(ds.validate({ ...seedRow(), upload_time: '2024-05-02 12:40:01' }).ok, false, tz);
    }
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
});

test('the default dataset checks upload_time against the real clock', () => {
  const soon = beijingDateTime(Date.now() + 5 * 60_000);
  const later = beijingDateTime(Date.now() + 60 * 60_000);
  assert.ok(borrowEntities.validate({ ...seedRow(), upload_time: soon }).ok);
  assert.match(errorsOf(borrowEntities.validate({ ...seedRow(), upload_time: later })).upload_time ?? '', /ahead of the time in Beijing/);
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
