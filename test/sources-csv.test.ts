import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseEncoding, readCsv, readCsvHeader, SourceError } from '../sources/index.js';
import { lines, readAll, scratchDir, write } from './helpers/csv-read.js';

async function rejectsWith(p: Promise<unknown>, code: string, text: RegExp): Promise<SourceError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SourceError, `expected a SourceError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.match(caught.message, text);
  return caught;
}

test('parseEncoding accepts the usual spellings', () => {
  for (const s of ['utf8', 'utf-8', 'UTF-8', ' Utf8 ']) assert.equal(parseEncoding(s), 'utf8');
  for (const s of ['gbk', 'GBK', 'gb2312', 'GB2312']) assert.equal(parseEncoding(s), 'gbk');
  assert.equal(parseEncoding('gb18030'), 'gb18030');
  assert.equal(parseEncoding('GB18030'), 'gb18030');
  assert.equal(parseEncoding('latin1'), null);
  assert.equal(parseEncoding(''), null);
});

test('UTF-8 with BOM and CRLF: header clean, cells keyed by header, lines counted', async () => {
  const file = write('\uFEFFid , name\r\n1,张三\r\n2, 李四 \r\n');
  assert.deepEqual(await readCsvHeader(file), ['id', 'name']);
  const recs = await readAll(file);
  assert.deepEqual(recs, [
    { file, line: 2, cells: { id: '1', name: '张三' } },
    { file, line: 3, cells: { id: '2', name: ' 李四 ' } }, // cells are raw; trimming is validation's job
  ]);
});

test('UTF-8 without BOM, LF, no final newline', async () => {
  assert.deepEqual(await lines('a,b\n1,2\n3,4'), ['2:1|2', '3:3|4']);
});

test('quoted cells with commas, doubled quotes and line breaks; later start lines stay right (LF)', async () => {
  const csv = [
    'a,b,c',
    '1,"x, y","say ""hi"""',
    '2,"multi',
    'line',
    'cell",z',
    '"3',
    'starts',
    'here",q,"and',
    'ends here"',
    '4,p,q',
  ].join('\n') + '\n';
  assert.deepEqual(await lines(csv), [
    '2:1|x, y|say "hi"',
    '3:2|multi\nline\ncell|z',
    '6:3\nstarts\nhere|q|and\nends here',
    '10:4|p|q', // the record above spans lines 6-9
  ]);
});

test('the same with CRLF line endings (a CRLF inside quotes is one line, and arrives as LF)', async () => {
  const csv = 'a,b\r\n"x\r\ny",1\r\n2,"p\r\n\r\nq"\r\n3,4\r\n';
  assert.deepEqual(await lines(csv), ['2:x\ny|1', '4:2|p\n\nq', '7:3|4']);
});

test('mixed line endings and a lone CR still count one line each', async () => {
  assert.deepEqual(await lines('a,b\n1,2\r\n3,4\r5,6\n"7\r8",9\n10,11'), ['2:1|2', '3:3|4', '4:5|6', '5:7\r8|9', '7:10|11']);
});

test('empty lines are skipped and do not shift line numbers', async () => {
  assert.deepEqual(await lines('\n\na,b\n\n1,2\n\n\n3,4\n\n'), ['5:1|2', '8:3|4']);
  assert.deepEqual(await lines('a,b\r\n\r\n1,2\r\n\r\n\r\n3,4\r\n\r\n'), ['3:1|2', '6:3|4']);
});

test('a row with the wrong number of cells is an error record; reading goes on', async () => {
  const csv = 'a,b,c\n1,2,3\n4,5\n6,7\n8\n9,10,11\n';
  assert.deepEqual(await lines(csv), ['2:1|2|3', '3!has 2 cells, header has 3', '4!has 2 cells, header has 3', '5!has 1 cell, header has 3', '6:9|10|11']);
});

test('a record over several lines with the wrong number of cells is read again from its second line', async () => {
  // What a stray quote closed again further down looks like: the lines it spans are rows of their own.
  const csv = 'a,b,c\n1,2,3\n"6\n7",8,9,10\n11,12,13\n';
  assert.deepEqual(await lines(csv), [
    '2:1|2|3',
    '3!has 4 cells, header has 3; reading resumed at line 4',
    '4!cell a has a quote but does not start with one (quote the whole cell and double the quotes in it)',
    '5:11|12|13',
  ]);
});

test('bad quoting gives an error record at the record start line, later rows come through', async () => {
  const out = await lines('a,b\n"x\ny",1\nq,w"z\n2,3\n"m\nn",o\n4,5\n');
  assert.equal(out.length, 5);
  assert.equal(out[0], '2:x\ny|1');
  assert.equal(out[1], '4!cell b has a quote but does not start with one (quote the whole cell and double the quotes in it)');
  assert.equal(out[2], '5:2|3');
  assert.equal(out[3], '6:m\nn|o');
  assert.equal(out[4], '8:4|5');
});

test('an unexpected closing quote on a later line: the record is reported once and its lines are read again', async () => {
  // csv-parse would stay inside the quoted cell after the error and swallow lines 7-8 with it.
  const out = await lines('a,b\n1,2\n"m\nn",o\n"p\nq"r,s\nt,u\nv,w"\n3,4\n');
  assert.deepEqual(out, [
    '2:1|2',
    '3:m\nn|o',
    '5!cell a goes on after its closing quote (a stray quote?); reading resumed at line 6',
    '6!cell a has a quote but does not start with one (quote the whole cell and double the quotes in it)',
    '7:t|u',
    '8!cell b has a quote but does not start with one (quote the whole cell and double the quotes in it)',
    '9:3|4',
  ]);
});

test('error reasons do not quote cell values (they may be personal data)', async () => {
  const out = await lines('a,b\n1,13112345678"x\n');
  assert.equal(out.length, 1);
  assert.ok(!(out[0] ?? '').includes('13112345678'), out[0]);
});

test('a record failing more than once is reported once, and the rows after it are not swallowed', async () => {
  // Two bad quotes on line 2; csv-parse alone would also take lines 3-4 into that record (up to the next quote).
  const out = await lines('a,b\n"x"y,z"w\nc,d\n"e",f\n1,2\n');
  assert.deepEqual(out, ['2!cell a goes on after its closing quote (a stray quote?)', '3:c|d', '4:e|f', '5:1|2']);
});

test('a quote left open near the end: one error record where that record starts, then every line after it', async () => {
  assert.deepEqual(await lines('a,b\n1,2\n"x,\ny\nz\n'), [
    '2:1|2',
    '3!a quote opened here is never closed; reading resumed at line 4',
    '4!has 1 cell, header has 2',
    '5!has 1 cell, header has 2',
  ]);
  // on the last line, with or without a final line break, there is nothing to resume
  assert.deepEqual(await lines('a,b\n1,2\n"x,y'), ['2:1|2', '3!a quote opened here is never closed']);
  assert.deepEqual(await lines('a,b\r\n1,2\r\n"x,y\r\n'), ['2:1|2', '3!a quote opened here is never closed']);
});

test('a quote left open in a big file: one error record, then all the rows it would have swallowed', async () => {
  const body = 'x,y\n'.repeat(400_000); // 1.6 MB, more than the largest record allowed
  const out = await lines(`a,b\n1,2\n3,"4\n${body}`);
  assert.equal(out.length, 2 + 400_000);
  assert.equal(out[0], '2:1|2');
  assert.equal(out[1], '3!record longer than 1 MiB (a quote left open?); reading resumed at line 4');
  assert.equal(out[2], '4:x|y');
  assert.equal(out[out.length - 1], `${400_003}:x|y`);
});

test('GBK input is decoded (Chinese intact, CRLF, quoted multi-line cell)', async () => {
  const text = '名称,地址\r\n爱心雨伞,"杭州市西湖区\r\n文三路478号"\r\n充电宝,"上海, 浦东"\r\n';
  const buf = iconv.encode(text, 'gbk');
  assert.notDeepEqual(buf, Buffer.from(text, 'utf8'));
  const file = write(buf);
  assert.deepEqual(await readCsvHeader(file, { encoding: 'gbk' }), ['名称', '地址']);
  assert.deepEqual(await readAll(file, 'gbk'), [
    { file, line: 2, cells: { 名称: '爱心雨伞', 地址: '杭州市西湖区\n文三路478号' } },
    { file, line: 4, cells: { 名称: '充电宝', 地址: '上海, 浦东' } },
  ]);
});

test('GB18030 input, including a character outside GBK', async () => {
  const buf = iconv.encode('name,note\n𠮷野家,€\n', 'gb18030');
  assert.deepEqual(await lines(buf, 'gb18030'), ['2:𠮷野家|€']);
});

test('a UTF-8 byte order mark wins over --encoding gbk', async () => {
  assert.deepEqual(await lines('\uFEFFname\n张三\n', 'gbk'), ['2:张三']);
});

test('GBK bytes read as UTF-8 are refused rather than passed on garbled', async () => {
  const rows = await lines(iconv.encode('name,n\n张三,1\n', 'gbk'), 'utf8');
  assert.equal(rows.length, 1);
  assert.match(rows[0] ?? '', /^2!cell name has bytes that are not valid in this encoding/);
  await rejectsWith(readAll(write(iconv.encode('名称\n张三\n', 'gbk'))), 'SYNC_SOURCE_HEADER', /wrong --encoding/);
});

test('a CR at a 64 KiB chunk boundary is joined with the LF of the next chunk', async () => {
  // The read stream hands out 65536-byte chunks: put a CRLF across the first boundary, once
  // inside a quoted cell and once as the record delimiter.
  const head = 'a,b\r\n1,"'; // 8 bytes
  const inCell = `${head}${'x'.repeat(65535 - head.length)}\r\ny"\r\n2,3\r\n`;
  const out1 = await lines(inCell);
  assert.equal(out1.length, 2);
  assert.equal(out1[0]?.slice(0, 4), '2:1|');
  assert.ok(out1[0]?.endsWith('x\ny'));
  assert.equal(out1[1], '4:2|3');
  const head2 = 'a,b\r\n1,';
  const asDelimiter = `${head2}${'x'.repeat(65535 - head2.length)}\r\n2,3\r\n`;
  const out2 = await lines(asDelimiter);
  assert.equal(out2.length, 2);
  assert.equal(out2[1], '3:2|3');
});

test('start lines stay exact over many chunks of CRLF rows with multi-line cells', async () => {
  const rows: string[] = ['id,text,n'];
  const expected: string[] = [];
  let line = 2;
  for (let i = 0; i < 20_000; i++) {
    const breaks = i % 7 === 0 ? 2 : i % 5 === 0 ? 1 : 0;
    const text = ['t'.repeat(i % 23), ...Array.from({ length: breaks }, (_, k) => `k${k}`)].join('\r\n');
    rows.push(`${i},"${text}",${i % 3}`);
    expected.push(`${line}:${i}`);
    line += 1 + breaks;
    if (i % 1000 === 999) {
      rows.push(''); // an empty line now and then
      line++;
    }
  }
  const file = write(rows.join('\r\n') + '\r\n');
  const got = (await readAll(file)).map((r) => ('cells' in r ? `${r.line}:${r.cells['id']}` : `${r.line}!${r.error}`));
  assert.deepEqual(got, expected);
});

test('duplicate header names are refused, naming them', async () => {
  const file = write('a,b, a ,c,b\n1,2,3,4,5\n');
  const err = await rejectsWith(readAll(file), 'SYNC_SOURCE_HEADER', /duplicate column names in header: a, b/);
  assert.equal(err.file, file);
  await rejectsWith(readCsvHeader(file), 'SYNC_SOURCE_HEADER', /duplicate/);
});

test('a header row that cannot be parsed stops the file, naming the problem', async () => {
  await rejectsWith(readAll(write('a,"b\n1,2\n')), 'SYNC_SOURCE_HEADER', /header row cannot be parsed: a quote opened here is never closed/);
  await rejectsWith(readCsvHeader(write('a,b"c\n1,2\n')), 'SYNC_SOURCE_HEADER', /header row cannot be parsed: cell 2 has a quote/);
});

test('an empty file (or only empty lines) has no header', async () => {
  await rejectsWith(readAll(write('')), 'SYNC_SOURCE_HEADER', /empty/);
  await rejectsWith(readAll(write('\r\n\n')), 'SYNC_SOURCE_HEADER', /empty/);
  await rejectsWith(readCsvHeader(write('')), 'SYNC_SOURCE_HEADER', /empty/);
  await rejectsWith(readCsvHeader(write('\uFEFF')), 'SYNC_SOURCE_HEADER', /empty/);
});

test('a header-only file has no records', async () => {
  const file = write('a,b\r\n');
  assert.deepEqual(await readAll(file), []);
  assert.deepEqual(await readCsvHeader(file), ['a', 'b']);
});

test('a missing or unreadable file is SYNC_SOURCE_READ with the path', async () => {
  const missing = path.join(scratchDir(), 'nope.csv');
  const err = await rejectsWith(readAll(missing), 'SYNC_SOURCE_READ', /nope\.csv/);
  assert.equal(err.file, missing);
  await rejectsWith(readCsvHeader(missing), 'SYNC_SOURCE_READ', /nope\.csv/);
  await rejectsWith(readAll(scratchDir()), 'SYNC_SOURCE_READ', /EISDIR/);
});

test('a UTF-16 file is refused with a hint', async () => {
  const file = write(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\r\n1,2\r\n', 'utf16le')]));
  await rejectsWith(readAll(file), 'SYNC_SOURCE_READ', /UTF-16/);
});

test('stopping early closes the file', async () => {
  const file = write('a\n1\n2\n3\n');
  for await (const r of readCsv(file)) {
    assert.equal(r.line, 2);
    break;
  }
  // nothing left open: the directory can be removed on every platform and reading again works
  assert.equal((await readAll(file)).length, 3);
});

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('reading a ~200k-row file keeps heap growth modest', async () => {
  const file = path.join(scratchDir(), 'big.csv');
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, 'product_code,category_code,entity_code,longitude,latitude,entity_name,upload_time\r\n');
  for (let b = 0; b < 20; b++) {
    const chunk: string[] = [];
    for (let i = b * 10_000; i < (b + 1) * 10_000; i++) {
      chunk.push(`w1010100000000002858,umbrella,E${i},120.15,30.28,"爱心雨伞, 第${i}号",2024-02-29 10:00:00\r\n`);
    }
    fs.writeSync(fd, chunk.join(''));
  }
  fs.closeSync(fd);
  // What the reader keeps alive, not garbage a busy machine has not collected yet: measured after a full GC.
  const live = () => {
    gc();
    return process.memoryUsage().heapUsed;
  };
  const start = live();
  let peak = start;
  let count = 0;
  let lastLine = 0;
  for await (const r of readCsv(file)) {
    assert.ok('cells' in r);
    count++;
    lastLine = r.line;
    if ((count & 0x3fff) === 0) peak = Math.max(peak, live());
  }
  assert.equal(count, 200_000);
  assert.equal(lastLine, 200_001);
  const growthMb = (peak - start) / 1024 / 1024;
  // 200k rows held would be well over 50 MB; a streaming reader keeps a few chunks.
  assert.ok(growthMb < 16, `live heap grew ${growthMb.toFixed(1)} MB`);
});

// ---- broken records never end a file -------------------------------------------------------------

/** Physical line → what came out for it: 'ok' with the entity code, or the error. Fails on a line seen twice. */
