/**
 * Streaming CSV reader: file → (iconv decode) → CRLF→LF → csv-parse → records with the physical
 * line each one starts on. Memory stays flat whatever the file size: nothing but the current
 * chunks and the few records in the streams' buffers is held.
 *
 * Line numbers are the hard part. csv-parse counts a line at every CR and every LF it looks at,
 * except the LF of a CRLF record delimiter, so a CRLF inside a quoted cell counts as two lines and
 * every line number after it drifts. Turning CRLF into LF before parsing makes its count exact
 * (LF, CRLF and a lone CR are each one line break); it also means line breaks inside quoted cells
 * reach the caller as LF. csv-parse reports the line a record ENDS on, so the start line is that
 * minus the line breaks inside the record's cells.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { CsvError, Parser, type Info, type Options } from 'csv-parse';
import iconv from 'iconv-lite';
import { SourceError } from './errors.js';

export type Encoding = 'utf8' | 'gbk' | 'gb18030';

export type CsvRecord =
  | { file: string; line: number; cells: Record<string, string> }   // line = 1-based physical line where the record STARTS
  | { file: string; line: number; error: string };                   // a record that cannot be parsed (e.g. bad quoting, wrong cell count); reading goes on

/**
 * Largest record csv-parse will build, in characters. A quote left open makes the rest of the file
 * one cell; this bound keeps that from eating memory (csv-parse then gives up on the file).
 */
const MAX_RECORD_CHARS = 1 << 20;

const CR = 0x0d;
const LF = 0x0a;
const CR_ONLY = Buffer.from([CR]);

/** Accepts the usual spellings people pass to --encoding; null when unsupported. */
export function parseEncoding(name: string): Encoding | null {
  switch (name.trim().toLowerCase()) {
    case 'utf8': case 'utf-8': return 'utf8';
    // GB2312 is a subset of GBK, so decoding it as GBK is exact.
    case 'gbk': case 'gb2312': return 'gbk';
    case 'gb18030': return 'gb18030';
    default: return null;
  }
}

/** Drops the CR of every CRLF, in place: the chunks are ours (fresh per read / per decode). */
class CrlfToLf extends Transform {
  private heldCr = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.heldCr) {
      this.heldCr = false;
      // The CR held back from the previous chunk was alone unless this chunk starts with LF.
      if (chunk.length > 0 && chunk[0] !== LF) this.push(CR_ONLY);
      else if (chunk.length === 0) this.heldCr = true;
    }
    let cr = chunk.indexOf(CR);
    if (cr === -1) return done(null, chunk);
    const len = chunk.length;
    let w = 0; // end of the kept bytes
    let r = 0; // start of the bytes not yet moved
    while (cr !== -1) {
      if (cr === len - 1) {
        // Cannot tell yet whether an LF follows: keep it for the next chunk.
        if (w !== r) chunk.copyWithin(w, r, cr);
        w += cr - r;
        r = len;
        this.heldCr = true;
        break;
      }
      if (chunk[cr + 1] === LF) {
        if (w !== r) chunk.copyWithin(w, r, cr);
        w += cr - r;
        r = cr + 1;
      }
      cr = chunk.indexOf(CR, cr + 1);
    }
    if (r < len) {
      if (w !== r) chunk.copyWithin(w, r, len);
      w += len - r;
    }
    done(null, w === len ? chunk : chunk.subarray(0, w));
  }

  override _flush(done: TransformCallback): void {
    if (this.heldCr) this.push(CR_ONLY);
    done();
  }
}

/** Line breaks (LF or CR) in a string; only called on the rare records that span lines. */
function breaksIn(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  for (let i = s.indexOf('\r'); i !== -1; i = s.indexOf('\r', i + 1)) n++;
  return n;
}

function breaksInCells(cells: readonly string[]): number {
  let n = 0;
  for (const c of cells) n += breaksIn(c);
  return n;
}

/** The parser internals read to place a record that failed mid-way (not in csv-parse's typings). */
interface ParserState {
  record: string[];
  field: { buf: Buffer; length: number };
  wasRowDelimiter: boolean;
}

function parserState(parser: Parser): ParserState | undefined {
  const st = (parser as unknown as { state?: Partial<ParserState> }).state;
  if (st && Array.isArray(st.record) && st.field && Buffer.isBuffer(st.field.buf)) return st as ParserState;
  return undefined;
}

/** csv-parse's message without the cell value it quotes: that value may be personal data. */
function reasonOf(err: CsvError): string {
  let msg = err.message;
  const cut = msg.indexOf(', value is ');
  if (cut !== -1) msg = msg.slice(0, cut);
  if (err.code === 'CSV_MAX_RECORD_SIZE') msg += '; reading stopped here (a quote left open?)';
  return msg;
}

/**
 * Per-file state behind the parser's record and skip hooks: the header, and what is needed to
 * give every record its start line. Runs synchronously inside the parser, in file order.
 */
class RecordMaker {
  header: string[] | undefined;
  private width = 0;
  private prevEnd = 0;    // line the previous good record ended on
  private prevEmpty = 0;  // csv-parse's empty-line count at that point
  private clean = true;   // no failed record since then
  private lastErrorLine = 0;
  parser!: Parser;

  constructor(readonly file: string) {}

  onRecord(record: string[], info: Info): CsvRecord | null {
    const end = info.lines;
    // Fast path: a record right after the previous one (and any empty lines) sits on one line.
    const line = this.clean && end === this.prevEnd + 1 + info.empty_lines - this.prevEmpty
      ? end
      : end - breaksInCells(record);
    this.prevEnd = end;
    this.prevEmpty = info.empty_lines;
    this.clean = true;
    if (this.header === undefined) {
      this.setHeader(record, line);
      return null;
    }
    const file = this.file;
    if (record.length !== this.width) {
      return { file, line, error: `has ${record.length} cells, header has ${this.width}` };
    }
    const header = this.header;
    const cells: Record<string, string> = {};
    for (let i = 0; i < record.length; i++) {
      const v = record[i] as string;
      // U+FFFD is what a wrong --encoding turns into; sending it would corrupt data silently.
      if (v.indexOf('\uFFFD') !== -1) {
        return { file, line, error: `cell ${header[i]} has bytes that are not valid in this encoding (wrong --encoding?)` };
      }
      cells[header[i] as string] = v;
    }
    return { file, line, cells };
  }

  onSkip(err: CsvError | undefined): void {
    if (err === undefined) return;
    const st = parserState(this.parser);
    // Where the failed record started: the current position minus the line breaks it has used
    // so far (they all sit in its cells). Without the internals, fall back to where it failed.
    const line = st !== undefined
      ? this.parser.info.lines + (st.wasRowDelimiter ? 1 : 0) - breaksInCells(st.record) - breaksInBytes(st.field)
      : this.parser.info.lines;
    if (this.header === undefined) {
      throw new SourceError('SYNC_SOURCE_HEADER', `${this.file}: header row cannot be parsed: ${reasonOf(err)}`, { file: this.file, line });
    }
    this.clean = false;
    // One record can fail several times before it ends; report it once.
    if (line === this.lastErrorLine) return;
    this.lastErrorLine = line;
    this.parser.push({ file: this.file, line, error: reasonOf(err) } satisfies CsvRecord);
  }

  private setHeader(record: string[], line: number): void {
    const names = record.map((n, i) => (i === 0 ? n.replace(/^\uFEFF/, '') : n).trim());
    const seen = new Set<string>();
    const dups = new Set<string>();
    for (const n of names) {
      // Empty names (trailing commas from spreadsheets) are not names; the dataset reports them as unknown.
      if (n === '') continue;
      if (seen.has(n)) dups.add(n);
      seen.add(n);
    }
    const ctx = { file: this.file, line };
    if (dups.size > 0) {
      throw new SourceError('SYNC_SOURCE_HEADER', `${this.file}: duplicate column names in header: ${[...dups].join(', ')}`, ctx);
    }
    if (names.some((n) => n.includes('\uFFFD'))) {
      throw new SourceError('SYNC_SOURCE_HEADER', `${this.file}: header has bytes that are not valid in this encoding (wrong --encoding?)`, ctx);
    }
    // Cells are plain objects; this one name would set their prototype instead of a property.
    if (seen.has('__proto__')) {
      throw new SourceError('SYNC_SOURCE_HEADER', `${this.file}: column name __proto__ is not allowed`, ctx);
    }
    this.header = names;
    this.width = names.length;
  }
}

function breaksInBytes(field: { buf: Buffer; length: number }): number {
  let n = 0;
  const buf = field.buf;
  for (let i = 0; i < field.length; i++) {
    const b = buf[i];
    if (b === LF || b === CR) n++;
  }
  return n;
}

function readError(file: string, err: unknown): SourceError {
  const detail = err instanceof Error ? err.message : String(err);
  return new SourceError('SYNC_SOURCE_READ', `cannot read ${file}: ${detail}`, { file, cause: err });
}

interface OpenCsv {
  parser: Parser;
  maker: RecordMaker;
}

/**
 * csv-parse's parser with each record turned into a CsvRecord as it is pushed. Hooking push rather
 * than using on_record: on_record builds a fresh info object per record, which costs about a fifth
 * of the parse time on million-row files, while `info` read here is the same live counters.
 */
class LineParser extends Parser {
  private failed = false;

  constructor(private readonly maker: RecordMaker, options: Options) {
    super(options);
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    // Parsed records arrive as string arrays; null (end) and the maker's error records pass through.
    if (Array.isArray(chunk)) {
      if (this.failed) return false;
      let rec: CsvRecord | null;
      try {
        rec = this.maker.onRecord(chunk as string[], this.info);
      } catch (err) {
        // A bad header: csv-parse does not catch errors thrown from push, so fail the stream here.
        this.failed = true;
        this.destroy(err as Error);
        return false;
      }
      return rec === null ? true : super.push(rec);
    }
    return super.push(chunk, encoding);
  }
}

/** Decide the encoding from a byte order mark, which beats the caller's guess: it cannot lie. */
async function sniff(handle: FileHandle, file: string, encoding: Encoding): Promise<{ encoding: Encoding; start: number }> {
  const head = Buffer.alloc(4);
  const { bytesRead } = await handle.read(head, 0, 4, 0);
  if (bytesRead >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf8', start: 3 };
  if (bytesRead >= 4 && head.readUInt32BE(0) === 0x84319533) return { encoding: 'gb18030', start: 4 };
  if (bytesRead >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) {
    throw new SourceError('SYNC_SOURCE_READ', `cannot read ${file}: it is UTF-16 encoded; save it as UTF-8 or GBK CSV`, { file });
  }
  return { encoding, start: 0 };
}

async function openCsv(file: string, requested: Encoding): Promise<OpenCsv> {
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
  const maker = new RecordMaker(file);
  const parser = new LineParser(maker, {
    bom: false, // handled by sniff(); csv-parse would also switch to UTF-16 on its own
    record_delimiter: ['\n', '\r'], // after CrlfToLf; fixed so mixed line endings still split rows
    skip_empty_lines: true,
    relax_column_count: true, // compared with the header in onRecord, to report it our way and go on
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_CHARS,
    on_skip: (err: CsvError | undefined) => {
      maker.onSkip(err);
      return undefined;
    },
  });
  maker.parser = parser;
  const source = handle.createReadStream({ start }); // closes the handle when done or destroyed
  const stages: NodeJS.ReadWriteStream[] = encoding === 'utf8' ? [] : [iconv.decodeStream(encoding)];
  stages.push(new CrlfToLf());
  // Errors anywhere destroy the whole chain and surface from the parser's iterator.
  pipeline([source, ...stages, parser], () => undefined);
  return { parser, maker };
}

/** What to do when iteration throws: our own errors and I/O errors end the file; a parse error is its last record. */
function failure(src: OpenCsv, file: string, err: unknown): CsvRecord {
  if (err instanceof SourceError) throw err;
  if (err instanceof CsvError) {
    if (src.maker.header === undefined) {
      throw new SourceError('SYNC_SOURCE_HEADER', `${file}: header row cannot be parsed: ${reasonOf(err)}`, { file });
    }
    return { file, line: src.parser.info.lines, error: `${reasonOf(err)}; reading stopped here` };
  }
  throw readError(file, err);
}

function emptyFile(file: string): SourceError {
  return new SourceError('SYNC_SOURCE_HEADER', `${file} is empty: no header row`, { file });
}

/** The header names (trimmed), read without going through the rest of the file. */
export async function readCsvHeader(file: string, opts: { encoding?: Encoding } = {}): Promise<string[]> {
  const src = await openCsv(file, opts.encoding ?? 'utf8');
  try {
    try {
      // The header is taken before anything is pushed, so one step is enough.
      await (src.parser[Symbol.asyncIterator]() as AsyncIterator<CsvRecord>).next();
    } catch (err) {
      if (src.maker.header === undefined) failure(src, file, err);
    }
    if (src.maker.header === undefined) throw emptyFile(file);
    return src.maker.header.slice();
  } finally {
    src.parser.destroy();
  }
}

/**
 * Every record of the file in order, in batches: what the parser holds is drained synchronously, so a
 * million-row file costs no million promise round trips (one per record was a tenth of staging's time).
 * The header row is checked, not yielded.
 */
export async function* readCsvBatches(file: string, opts: { encoding?: Encoding } = {}): AsyncGenerator<CsvRecord[]> {
  const src = await openCsv(file, opts.encoding ?? 'utf8');
  const parser = src.parser;
  let ended = false;
  let failed: unknown = null;
  let wake: (() => void) | null = null;
  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  parser.on('readable', signal);
  parser.on('end', () => {
    ended = true;
    signal();
  });
  parser.on('error', (err) => {
    failed = err;
    signal();
  });
  try {
    for (;;) {
      const batch: CsvRecord[] = [];
      let rec: CsvRecord | null;
      while (failed === null && (rec = parser.read() as CsvRecord | null) !== null) batch.push(rec);
      if (batch.length) yield batch;
      if (failed !== null) {
        yield [failure(src, file, failed)];
        return;
      }
      if (ended) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        // Data may have arrived between the last read() and now: do not wait for a 'readable' already past.
        if (parser.readableLength > 0 || ended || failed !== null) signal();
      });
    }
    if (src.maker.header === undefined) throw emptyFile(file);
  } finally {
    // Stopping early (break in the caller) must still close the file.
    parser.destroy();
  }
}

/** Every record of the file in order, one at a time; the header row is checked, not yielded. */
export async function* readCsv(file: string, opts: { encoding?: Encoding } = {}): AsyncGenerator<CsvRecord> {
  for await (const batch of readCsvBatches(file, opts)) yield* batch;
}
