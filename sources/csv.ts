/**
 * Streaming CSV reader: file → (iconv decode) → CRLF→LF → csv-parse → records with the physical
 * line each one starts on. Memory stays flat whatever the file size: nothing but the current
 * chunks, the current record's text and the few records in the streams' buffers is held.
 *
 * The public readers live here; the stages, by concept, under csv/: encoding.ts (names, byte order
 * mark), crlf.ts (CRLF→LF, which makes csv-parse's line count exact), parser.ts (the csv-parse wrapper),
 * records.ts (the record stream: start lines, and resumption after a broken record, with tape.ts keeping
 * the bytes to read again and failures.ts putting what broke in words), header.ts (the header row), and
 * encoding-check.ts (checkEncoding, which reads a sample before anything is sent).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import iconv from 'iconv-lite';
import { SourceError } from './errors.js';
import { CrlfToLf } from './csv/crlf.js';
import { sniff, type Encoding } from './csv/encoding.js';
import { emptyFile, failure, readError } from './csv/read-errors.js';
import { CsvRecords, type CsvRecord } from './csv/records.js';

export { parseEncoding, type Encoding } from './csv/encoding.js';
export { checkEncoding, type EncodingCheck } from './csv/encoding-check.js';
export type { CsvRecord } from './csv/records.js';
export { guardFormula, isRejectsHeader, REJECTS_COLUMNS, unguardFormula } from './csv/formula-guard.js';

/** How far into the file reading is, in bytes (for progress: the file's size is the total). */
export type BytesRead = (bytes: number) => void;

async function openCsv(file: string, requested: Encoding, onBytes?: BytesRead): Promise<CsvRecords> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw readError(file, err);
  }
  let encoding: Encoding;
  let start: number;
  try {
    ({ encoding, start } = await sniff(handle, file, requested));
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err instanceof SourceError ? err : readError(file, err);
  }
  const records = new CsvRecords(file);
  const source = handle.createReadStream({ start }); // closes the handle when done or destroyed
  const stages: NodeJS.ReadWriteStream[] = encoding === 'utf8' ? [] : [iconv.decodeStream(encoding)];
  stages.push(new CrlfToLf());
  // Errors anywhere destroy the whole chain and surface from the last stage.
  pipeline([source, ...stages, records], () => undefined);
  // After the pipe is in place: a second 'data' listener only watches, the pipe keeps its back-pressure.
  if (onBytes) {
    let read = start;
    source.on('data', (chunk: Buffer | string) => onBytes((read += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length)));
  }
  return records;
}

/** The header names (trimmed), read without going through the rest of the file. */
export async function readCsvHeader(file: string, opts: { encoding?: Encoding } = {}): Promise<string[]> {
  const records = await openCsv(file, opts.encoding ?? 'utf8');
  try {
    try {
      // The header is taken before anything is pushed, so one step is enough.
      await (records[Symbol.asyncIterator]() as AsyncIterator<CsvRecord>).next();
    } catch (err) {
      if (records.header === undefined) throw failure(file, err);
    }
    if (records.header === undefined) throw emptyFile(file);
    return records.header.slice();
  } finally {
    records.destroy();
  }
}

/**
 * Every record of the file in order, in batches: what the reader holds is drained synchronously, so a
 * million-row file costs no million promise round trips (one per record was a tenth of staging's time).
 * The header row is checked, not yielded. A broken record is one error record and reading goes on (see
 * CsvRecords); only a bad header or a file that cannot be read ends the file early, by throwing.
 */
export async function* readCsvBatches(file: string, opts: { encoding?: Encoding; onBytes?: BytesRead } = {}): AsyncGenerator<CsvRecord[]> {
  const records = await openCsv(file, opts.encoding ?? 'utf8', opts.onBytes);
  let ended = false;
  let failed: unknown = null;
  let wake: (() => void) | null = null;
  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  records.on('readable', signal);
  records.on('end', () => {
    ended = true;
    signal();
  });
  records.on('error', (err) => {
    failed = err;
    signal();
  });
  try {
    for (;;) {
      const batch: CsvRecord[] = [];
      let rec: CsvRecord | null;
      while (failed === null && (rec = records.read() as CsvRecord | null) !== null) batch.push(rec);
      if (batch.length) yield batch;
      if (failed !== null) throw failure(file, failed);
      if (ended) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        // Data may have arrived between the last read() and now: do not wait for a 'readable' already past.
        if (records.readableLength > 0 || ended || failed !== null) signal();
      });
    }
    if (records.header === undefined) throw emptyFile(file);
  } finally {
    // Stopping early (break in the caller) must still close the file.
    records.destroy();
  }
}

/** Every record of the file in order, one at a time; the header row is checked, not yielded. */
export async function* readCsv(file: string, opts: { encoding?: Encoding } = {}): AsyncGenerator<CsvRecord> {
  for await (const batch of readCsvBatches(file, opts)) yield* batch;
}
