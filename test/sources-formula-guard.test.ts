/** The formula guard of files for spreadsheets, and its inverse for rejects files read back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { guardFormula, isRejectsHeader, unguardFormula } from '../sources/csv.js';
import { csvRow } from '../pipeline/csv-writer.js';

test('cells a spreadsheet would run are prefixed with a quote; the guard is undone exactly', () => {
  const cases: [string, string][] = [
    ['=1+2', "'=1+2"], ['+86 138', "'+86 138"], ['-120.5', "'-120.5"], ['@SUM(A1)', "'@SUM(A1)"], ['\tx', "'\tx"], ['\rx', "'\rx"],
    ['＝1', "'＝1"], ["'=x", "''=x"], ["''-1", "'''-1"],
    ['plain', 'plain'], ["'quoted", "'quoted"], ['', ''], ["'", "'"], ['a=b', 'a=b'], ['爱心雨伞', '爱心雨伞'],
  ];
  for (const [value, written] of cases) {
    assert.equal(guardFormula(value), written, JSON.stringify(value));
    assert.equal(unguardFormula(written), value, JSON.stringify(written));
  }
  // every string made of the interesting characters comes back as it was
  const parts = ["'", '=', '-', 'a', ' '];
  const all = (n: number): string[] => (n === 0 ? [''] : all(n - 1).flatMap((s) => parts.map((p) => s + p)));
  for (const v of all(4)) assert.equal(unguardFormula(guardFormula(v)), v, JSON.stringify(v));
});

test('a CSV row is guarded and quoted as our reader reads it back', () => {
  const cells = ['=HYPERLINK("x")', 'a,b', 'line\nbreak', '-5', 'plain'];
  const [back] = parse(csvRow(cells)) as string[][];
  assert.deepEqual(back!.map(unguardFormula), cells);
  assert.ok(isRejectsHeader(['line', 'field', 'reason', 'file', 'entity_code']));
  assert.ok(!isRejectsHeader(['entity_code', 'line']));
});
