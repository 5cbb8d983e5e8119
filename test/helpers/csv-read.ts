/**
 * The CSV reader's tests (sources-csv*.test.ts): a scratch folder for the file under test (made before the file's
 * tests, removed after), and the reader's records read whole or in a compact view.
 */
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCsv, type CsvRecord, type Encoding } from '../../sources/index.js';

let dir = '';
let n = 0;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alipay-sync-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The scratch folder (exists while the tests run). */
export function scratchDir(): string {
  return dir;
}

export function write(content: string | Buffer): string {
  const file = path.join(dir, `f${++n}.csv`);
  fs.writeFileSync(file, content);
  return file;
}

export async function readAll(file: string, encoding?: Encoding): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const r of readCsv(file, encoding === undefined ? {} : { encoding })) out.push(r);
  return out;
}

/** Compact view: "line:a|b|c" for rows, "line!reason" for error records. */
export async function lines(content: string | Buffer, encoding?: Encoding): Promise<string[]> {
  const file = write(content);
  return (await readAll(file, encoding)).map((r) => {
    assert.equal(r.file, file);
    return 'cells' in r ? `${r.line}:${Object.values(r.cells).join('|')}` : `${r.line}!${r.error}`;
  });
}
