import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import iconv from 'iconv-lite';
import { checkEncoding, SourceError } from '../sources/index.js';
import { tempDir, writeFile } from './helpers/tmp.js';

const dir = tempDir();
let n = 0;
const write = (content: string | Buffer) => writeFile(dir, `e${++n}.csv`, content);

const SAMPLE = 256 * 1024;
const TEXT = 'entity_code,entity_name,address_desc\r\nE1,umbrella,west lake\r\nE2,爱心雨伞,杭州市西湖区文三路478号\r\nE3,充电宝,"上海, 浦东"\r\n';

test('a GBK file read as UTF-8 is not ok: the first bad line is named, GBK suggested, no text quoted', async () => {
  const file = write(iconv.encode(TEXT, 'gbk'));
  const r = await checkEncoding(file, 'utf8');
  assert.deepEqual(r, {
    ok: false,
    line: 3,
    message: `${file}: line 3 is not valid UTF-8; it looks GBK-encoded: pass --encoding gbk`,
    suggest: 'gbk',
  });
});

test('GB18030-only characters read as UTF-8: GB18030 is suggested', async () => {
  const file = write(iconv.encode('name,note\n张三,ok\n𠮷野家,€\n', 'gb18030'));
  const r = await checkEncoding(file, 'utf8');
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.line, 2);
    assert.equal(r.suggest, 'gb18030');
    assert.match(r.message, /line 2 is not valid UTF-8; it looks GB18030-encoded: pass --encoding gb18030$/);
  }
});

test('bytes that are neither UTF-8 nor GBK: not ok, nothing suggested', async () => {
  const file = write(Buffer.concat([Buffer.from('a,b\n1,2\n\n3,'), Buffer.from([0xff, 0xff, 0x0a])]));
  const r = await checkEncoding(file, 'utf8');
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.line, 4);
    assert.equal(r.suggest, undefined);
    assert.match(r.message, /line 4 is not valid UTF-8, nor GBK or GB18030/);
  }
});

test('UTF-8 files with Chinese are ok, with or without BOM, and a UTF-8 BOM wins over --encoding gbk', async () => {
  assert.deepEqual(await checkEncoding(write(TEXT), 'utf8'), { ok: true });
  assert.deepEqual(await checkEncoding(write(`\uFEFF${TEXT}`), 'utf8'), { ok: true });
  assert.deepEqual(await checkEncoding(write(`\uFEFF${TEXT}`), 'gbk'), { ok: true });
  assert.deepEqual(await checkEncoding(write(''), 'utf8'), { ok: true });
});

test('a character cut by the 256 KiB boundary is not an error; the same cut at the end of the file is', async () => {
  const head = 'a,b\n' + 'x'.repeat(SAMPLE - 4 - 1); // '张' (3 bytes) starts one byte before the boundary
  const straddling = Buffer.from(`${head}张,1\n`);
  assert.equal(straddling.subarray(0, SAMPLE).toString().endsWith('\uFFFD'), true); // the sample alone would look broken
  assert.deepEqual(await checkEncoding(write(straddling), 'utf8'), { ok: true });
  const truncated = Buffer.from(`${head}张`).subarray(0, SAMPLE);
  const r = await checkEncoding(write(truncated), 'utf8');
  assert.equal(r.ok, false);
  // beyond the first 256 KiB nothing is looked at
  assert.deepEqual(await checkEncoding(write(Buffer.concat([Buffer.from('a'.repeat(SAMPLE)), Buffer.from([0xff])])), 'utf8'), { ok: true });
});

test('a UTF-8 file read as GBK or GB18030 is ok with a warning; GBK read as GBK (or plain ASCII) is just ok', async () => {
  const utf8 = write(TEXT);
  for (const enc of ['gbk', 'gb18030'] as const) {
    const r = await checkEncoding(utf8, enc);
    assert.equal(r.ok, true);
    assert.ok('warning' in r, JSON.stringify(r));
    assert.match(r.warning, /looks UTF-8; check --encoding$/);
    assert.ok(r.warning.startsWith(`${utf8}: read as ${enc === 'gbk' ? 'GBK' : 'GB18030'}`));
  }
  assert.deepEqual(await checkEncoding(write(iconv.encode(TEXT, 'gbk')), 'gbk'), { ok: true });
  assert.deepEqual(await checkEncoding(write('a,b\r\n1,2\r\n'), 'gbk'), { ok: true });
});

test('GB18030 read as GBK: a warning naming the line, suggesting gb18030', async () => {
  const file = write(iconv.encode('name,note\r\n张三,ok\r\n𠮷野家,1\r\n', 'gb18030'));
  const r = await checkEncoding(file, 'gbk');
  assert.ok(r.ok && 'warning' in r, JSON.stringify(r));
  assert.equal(r.warning, `${file}: line 3 has bytes that are not valid GBK (rows with them will be rejected); it may be GB18030: pass --encoding gb18030`);
});

test('UTF-16 is not ok (line 1); a missing file throws SYNC_SOURCE_READ', async () => {
  const utf16 = write(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\r\n', 'utf16le')]));
  const r = await checkEncoding(utf16, 'utf8');
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.line, 1);
    assert.match(r.message, /UTF-16/);
  }
  const missing = path.join(dir, 'nope.csv');
  await assert.rejects(checkEncoding(missing, 'utf8'), (err: unknown) => err instanceof SourceError && err.code === 'SYNC_SOURCE_READ' && err.message.includes('nope.csv'));
});
