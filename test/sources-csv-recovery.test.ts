/**
 * Reading goes on after broken records (see sources-csv.test.ts for the reader itself): stray quotes, quotes
 * never closed, garbage and over-long lines cost the records they break and no more, and every line is counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { readCsv, type CsvRecord, type Encoding } from '../sources/index.js';
import { entities, toCsv } from './helpers/borrow.js';
import { lines, readAll, scratchDir, write } from './helpers/csv-read.js';

async function byLine(file: string, encoding?: Encoding): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  let last = 0;
  for (const r of await readAll(file, encoding)) {
    assert.ok(r.line > last, `line ${r.line} after line ${last}`);
    last = r.line;
    out.set(r.line, 'cells' in r ? `ok ${r.cells['entity_code']}` : `! ${r.error}`);
  }
  return out;
}

/**
 * `n` realistic rows in physical lines, those that `multiLine` picks with a line break inside their address (a
 * quoted multi-line cell); returns the lines (without line ends) and the physical line each row starts on.
 */
function borrowLines(n: number, multiLine: (i: number) => boolean): { lines: string[]; starts: number[] } {
  const rows = entities(n).map((r, i) => (multiLine(i) ? { ...r, address_desc: `杭州市西湖区\n文三路${i}号` } : r));
  const text = toCsv(rows).slice(0, -1); // without the final line break
  const starts: number[] = [];
  let line = 2;
  for (const r of rows) {
    starts.push(line);
    line += 1 + (r['address_desc']?.split('\n').length ?? 1) - 1;
  }
  return { lines: text.split('\n'), starts };
}

/** A stray opening quote before the entity_name of the row starting on physical line `line`. */
function strayQuote(lines: string[], line: number): void {
  const at = line - 1;
  const cells = lines[at]!.split(',');
  cells[4] = `"${cells[4]}`;
  lines[at] = cells.join(',');
}

for (const { eol, encoding } of [{ eol: '\n', encoding: 'utf8' }, { eol: '\r\n', encoding: 'gbk' }, { eol: '\r', encoding: 'gb18030' }] as const) {
  test(`a stray quote in row 11 of 3,000 costs that row only: 2,999 good records, one error, every line accounted for (${JSON.stringify(eol)}, ${encoding})`, async () => {
    // multi-line cells before the broken row only, so that no quote after it closes the stray one
    const { lines: text, starts } = borrowLines(3000, (i) => i === 3 || i === 5);
    const broken = starts[10]!;
    assert.equal(text[broken - 2]?.includes('\n'), false); // the row before is on one line
    strayQuote(text, broken);
    const body = text.join(eol) + eol;
    const file = write(encoding === 'utf8' ? body : iconv.encode(body, encoding));
    const got = await byLine(file, encoding);
    assert.equal(got.size, 3000);
    assert.equal(got.get(broken), `! a quote opened here is never closed; reading resumed at line ${broken + 1}`);
    for (let i = 0; i < 3000; i++) {
      if (i !== 10) assert.equal(got.get(starts[i]!), `ok E${String(i).padStart(6, '0')}`, `row ${i} at line ${starts[i]}`);
    }
  });
}

test('a stray quote closed by a later one (in a quoted cell, or before a comma): the lines in between are read again', { timeout: 30_000 }, async () => {
  // A quoted cell 40 rows down: its opening quote ends the stray cell but is followed by text.
  const multiLine = (i: number) => i % 7 === 5 && (i < 10 || i > 50);
  const a = borrowLines(100, multiLine);
  strayQuote(a.lines, a.starts[10]!);
  const far = a.starts[50]!;
  a.lines[far - 1] = a.lines[far - 1]!.replace('5元/小时', '"5元/小时"');
  const gotA = await byLine(write(a.lines.join('\n') + '\n'));
  assert.equal(gotA.get(a.starts[10]!), `! cell entity_name goes on after its closing quote (a stray quote?); reading resumed at line ${a.starts[10]! + 1}`);
  assert.equal(gotA.get(far), `ok E000050`);
  assert.equal([...gotA.values()].filter((v) => v.startsWith('ok')).length, 99);

  // A stray quote before a comma 40 rows down closes the cell: one huge record with the wrong cell count.
  const b = borrowLines(100, multiLine);
  strayQuote(b.lines, b.starts[10]!);
  b.lines[far - 1] = b.lines[far - 1]!.replace('5元/小时', '5元/小时"');
  const gotB = await byLine(write(b.lines.join('\n') + '\n'));
  assert.match(gotB.get(b.starts[10]!) ?? '', new RegExp(`^! has \\d+ cells, header has 14; reading resumed at line ${b.starts[10]! + 1}$`));
  assert.match(gotB.get(far) ?? '', /^! cell rent_desc has a quote but does not start with one/);
  assert.equal([...gotB.values()].filter((v) => v.startsWith('ok')).length, 98);
  assert.equal(gotB.size, 100);
});

test('several broken records in one file, one of them on the last line', async () => {
  const csv = ['a,b', '1,2', '"3,4', 'x"y,5', '6,7', '8,"9', '10,11', '"12,13'].join('\r\n');
  assert.deepEqual(await lines(csv), [
    '2:1|2',
    '3!cell a goes on after its closing quote (a stray quote?); reading resumed at line 4',
    '4!cell a has a quote but does not start with one (quote the whole cell and double the quotes in it)',
    '5:6|7',
    '6!cell b goes on after its closing quote (a stray quote?); reading resumed at line 7',
    '7:10|11',
    '8!a quote opened here is never closed',
  ]);
});

test('a broken line longer than a read chunk: reading goes on at the line after it', async () => {
  const long = 'z'.repeat(200_000);
  assert.deepEqual(await lines(`a,b\nx"y${long},1\n2,3\n`), [
    '2!cell a has a quote but does not start with one (quote the whole cell and double the quotes in it)',
    '3:2|3',
  ]);
});

test('a line of over 1 MiB without quotes (or of nothing but commas) is one error record; the next line is read', { timeout: 30_000 }, async () => {
  for (const fill of ['x', ',']) {
    const out = await lines(`a,b\n1,2\n${fill.repeat(5 << 20)}\n3,4\n`);
    assert.deepEqual(out, ['2:1|2', '3!record longer than 1 MiB (a quote left open?); reading resumed at line 4', '4:3|4'], fill);
  }
});

/** Seeded bytes (xorshift), with more line breaks (1 in 30), commas (1 in 40) and quotes (1 in 400, or none) than chance would give. */
function garbage(size: number, seed: number, quotes = true): Buffer {
  const buf = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const r = (x >>> 0) % 1200;
    const b = r < 1127 ? r & 0xff : r < 1167 ? 0x0a : r < 1197 ? 0x2c : 0x22;
    buf[i] = b === 0x22 && !quotes ? 0x2c : b;
  }
  return buf;
}

test('1.75 MiB of garbage after the header, starting with a quote: reading ends, lines only go up, the row after it is read', { timeout: 60_000 }, async () => {
  for (const encoding of ['utf8', 'gbk'] as const) {
    // the quote runs over the quote-free first part (more than the 1 MiB a record may have), then quotes come and go
    const file = write(Buffer.concat([Buffer.from('a,b\n"'), garbage(3 << 19, 7, false), garbage(1 << 18, 11), Buffer.from('\n1,2\n')]));
    const recs = await readAll(file, encoding);
    let last = 0;
    for (const r of recs) {
      assert.ok(r.line > last);
      last = r.line;
    }
    const end = recs[recs.length - 1];
    assert.ok(end !== undefined && 'cells' in end, JSON.stringify(end));
    assert.deepEqual(end.cells, { a: '1', b: '2' });
    assert.equal(recs[0]?.line, 2);
    assert.match((recs[0] as { error?: string }).error ?? '', /^record longer than 1 MiB \(a quote left open\?\); reading resumed at line 3$/);
    assert.ok(recs.filter((r) => 'error' in r).length > 1000, encoding);
  }
});

test('after 1,000 records broken across lines, reading stops with one error record for the rest', { timeout: 60_000 }, async () => {
  // each "x\ny"z record breaks on its second line; that line is then read again (and is broken too)
  const file = write(`a,b\n${'"x\ny"z,1\n'.repeat(1100)}1,2\n`);
  const recs = await readAll(file);
  assert.equal(recs.length, 2001);
  assert.deepEqual(recs[0], { file, line: 2, error: 'cell a goes on after its closing quote (a stray quote?); reading resumed at line 3' });
  assert.equal((recs[1] as { error: string }).error.startsWith('cell a has a quote'), true);
  const stop = recs[2000]!;
  assert.equal(stop.line, 2002);
  assert.ok('error' in stop);
  assert.match(stop.error, /; reading stopped here: more than 1,000 records of this file are broken across lines, so the rest of it \(from this line on\) is not read/);
});

test('a quote never closed in a 40 MB file: the rows after it are read, memory stays bounded', { timeout: 60_000 }, async () => {
  const file = path.join(scratchDir(), 'open-quote.csv');
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, 'a,b\n1,"2\n');
  const row = `${'x'.repeat(1000)},y\n`;
  for (let i = 0; i < 40; i++) fs.writeSync(fd, row.repeat(1000));
  fs.closeSync(fd);
  // Buffers: what the reader keeps of the file to read a broken record again (strings made per row are heap garbage)
  const used = () => process.memoryUsage().arrayBuffers;
  const start = used();
  let peak = start;
  let count = 0;
  let first: CsvRecord | undefined;
  for await (const r of readCsv(file)) {
    first ??= r;
    count++;
    if ((count & 0x3ff) === 0) peak = Math.max(peak, used());
  }
  assert.deepEqual(first, { file, line: 2, error: 'record longer than 1 MiB (a quote left open?); reading resumed at line 3' });
  assert.equal(count, 1 + 40_000);
  const growthMb = (peak - start) / 1024 / 1024;
  assert.ok(growthMb < 24, `memory grew ${growthMb.toFixed(1)} MB`);
});
