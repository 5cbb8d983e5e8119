/**
 * Streaming CSV reader: file → (iconv decode) → CRLF→LF → csv-parse → records with the physical
 * line each one starts on. Memory stays flat whatever the file size: nothing but the current
 * chunks, the current record's text and the few records in the streams' buffers is held.
 *
 * Line numbers are the hard part. csv-parse counts a line at every CR and every LF it looks at,
 * except the LF of a CRLF record delimiter, so a CRLF inside a quoted cell counts as two lines and
 * every line number after it drifts. Turning CRLF into LF before parsing makes its count exact
 * (LF, CRLF and a lone CR are each one line break); it also means line breaks inside quoted cells
 * reach the caller as LF. csv-parse reports the line a record ENDS on, so the start line is that
 * minus the line breaks inside the record's cells.
 *
 * A broken record never ends a file. One stray quote makes csv-parse read on to the next quote, or to
 * the end of the file, as one cell: the good rows it swallowed would be lost without a word. So the
 * first error in a record stops that parser, the record is reported once at the line it starts on,
 * and a fresh parser takes over at the physical line after that start (see CsvRecords).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { Parser, type Info, type Options } from 'csv-parse';
import iconv from 'iconv-lite';
import { SourceError } from './errors.js';
import { maskLookAlike } from './mask.js';

export type Encoding = 'utf8' | 'gbk' | 'gb18030';

export type CsvRecord =
  | { file: string; line: number; cells: Record<string, string> }   // line = 1-based physical line where the record STARTS
  | { file: string; line: number; error: string };                   // a record that cannot be parsed (e.g. bad quoting, wrong cell count); reading goes on

/**
 * Largest record csv-parse will build, in characters. A quote left open makes the rest of the file
 * one cell; this bound keeps that from eating memory (the record is then reported as broken).
 */
const MAX_RECORD_CHARS = 1 << 20;

/**
 * Bytes of one unfinished record the reader keeps before calling it broken. A record csv-parse accepts
 * (1 Mi characters, at most 3 UTF-8 bytes each) fits; csv-parse does not count empty cells, so without
 * this a line of a million commas would be held whole.
 */
const MAX_RECORD_BYTES = 4 * MAX_RECORD_CHARS;

/**
 * Broken records that spanned lines (so the lines after their start are read a second time) before a
 * file is given up on. Each costs at most one record's text read again, so this bounds the extra work
 * of a file that is not the CSV it claims to be. Broken records on one line cost nothing and are not counted.
 */
const MAX_REREADS = 1000;

const TOO_LONG = 'record longer than 1 MiB (a quote left open?)';

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

/** Index of the first line break (LF or CR) in `buf` at or after `from`, or -1. */
function breakIn(buf: Buffer, from: number): number {
  const lf = buf.indexOf(LF, from);
  const cr = buf.indexOf(CR, from);
  return lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
}

/**
 * The parser's input (after CRLF→LF) from the start of the record being read to what has arrived, so
 * that a broken record can be read again from the line after its start. Offsets are absolute: bytes
 * since the reader began. Whole chunks are kept (no copying); those before the current record are dropped.
 */
class Tape {
  private chunks: Buffer[] = [];
  start = 0; // offset of chunks[0][0]
  end = 0;

  append(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.end += chunk.length;
  }

  /** Forgets everything held (the bytes are not needed again); offsets go on from `end`. */
  clear(): void {
    this.chunks = [];
    this.start = this.end;
  }

  /** Forgets the chunks that end at or before `at`. */
  dropBefore(at: number): void {
    let n = 0;
    let start = this.start;
    while (n < this.chunks.length && start + this.chunks[n]!.length <= at) start += this.chunks[n++]!.length;
    if (n > 0) {
      this.chunks.splice(0, n);
      this.start = start;
    }
  }

  /** The held bytes from `at` on, as views into the chunks. */
  slicesFrom(at: number): Buffer[] {
    const out: Buffer[] = [];
    let start = this.start;
    for (const c of this.chunks) {
      const end = start + c.length;
      if (end > at) out.push(at > start ? c.subarray(at - start) : c);
      start = end;
    }
    return out;
  }

  /** Offset of the first line break at or after `at`, or -1 when none has arrived. */
  breakFrom(at: number): number {
    let start = this.start;
    for (const c of this.chunks) {
      const end = start + c.length;
      if (end > at) {
        const i = breakIn(c, Math.max(0, at - start));
        if (i !== -1) return start + i;
      }
      start = end;
    }
    return -1;
  }

  /** How many line breaks follow one another from `at` (empty lines). */
  breaksFrom(at: number): number {
    let n = 0;
    let start = this.start;
    for (const c of this.chunks) {
      const end = start + c.length;
      if (end > at) {
        for (let i = Math.max(0, at + n - start); i < c.length; i++) {
          const b = c[i];
          if (b !== LF && b !== CR) return n;
          n++;
        }
      }
      start = end;
    }
    return n;
  }
}

/** Thrown from the record hook to stop csv-parse at once: a record we call broken (it spans lines, wrongly). */
class Broken {
  constructor(readonly reason: string) {}
}

/** Why a record is broken: csv-parse's error, our own verdict, or the record outgrew MAX_RECORD_BYTES. */
type Failure = Error | Broken | typeof TOO_LONG;

/**
 * csv-parse's parser, driven synchronously: each record goes to `sink` as it is parsed, nothing goes
 * through its stream side. csv-parse's only incremental API is a Transform; calling its _transform and
 * _flush directly (the Transform contract) means the parse of a chunk has ended when the call returns,
 * so the first error can stop it there and another parser can take over from any earlier line, which a
 * stream pipeline cannot rewind to. Hooking push rather than using on_record: on_record builds a fresh
 * info object per record, about a fifth of the parse time on million-row files, while `info` read here
 * is the same live counters.
 */
class Engine extends Parser {
  constructor(private readonly sink: (record: string[], info: Info) => void, options: Options) {
    super(options);
  }

  override push(chunk: unknown): boolean {
    // Records arrive as string arrays; the end (null) is ours to decide, not the parser's.
    if (Array.isArray(chunk)) this.sink(chunk as string[], this.info);
    return true;
  }

  /** Parse one piece; what broke the record being read, if anything (csv-parse stops at its first error). */
  feed(piece: Buffer): Failure | undefined {
    let failed: Error | undefined;
    // csv-parse's errors are read for their code only; their stack traces were most of the cost of a file
    // whose every row has a stray quote.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      this._transform(piece, 'buffer' as BufferEncoding, (err) => {
        failed = err ?? undefined;
      });
    } catch (err) {
      if (err instanceof Broken) return err;
      throw err;
    } finally {
      Error.stackTraceLimit = limit;
    }
    return failed;
  }

  /** End of input: the last record without a final line break, or the quote left open. */
  finish(): Failure | undefined {
    let failed: Error | undefined;
    try {
      this._flush((err) => {
        failed = err ?? undefined;
      });
    } catch (err) {
      if (err instanceof Broken) return err;
      throw err;
    }
    return failed;
  }
}

const PARSE_OPTIONS: Options = {
  bom: false, // handled by sniff(); csv-parse would also switch to UTF-16 on its own
  record_delimiter: ['\n', '\r'], // after CrlfToLf; fixed so mixed line endings still split rows
  skip_empty_lines: true,
  relax_column_count: true, // compared with the header in onRecord, to report it our way and go on
  max_record_size: MAX_RECORD_CHARS,
};

/** A column as named in messages: by header name, unless that name looks like personal data (a file without a header). */
function cellName(column: unknown, header: readonly string[] | undefined): string {
  if (typeof column !== 'number') return 'a cell';
  const name = header?.[column];
  return name !== undefined && name !== '' && maskLookAlike(name, true) === name ? `cell ${name}` : `cell ${column + 1}`;
}

/** What is wrong with a broken record, in words; never the cell's text (csv-parse quotes it: it may be personal data). */
function describeFailure(fail: Failure, header: readonly string[] | undefined): string {
  if (fail === TOO_LONG) return TOO_LONG;
  if (fail instanceof Broken) return fail.reason;
  const err = fail as Error & { code?: unknown; column?: unknown };
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED': return 'a quote opened here is never closed';
    case 'CSV_MAX_RECORD_SIZE': return TOO_LONG;
    case 'INVALID_OPENING_QUOTE':
      return `${cellName(err.column, header)} has a quote but does not start with one (quote the whole cell and double the quotes in it)`;
    case 'CSV_INVALID_CLOSING_QUOTE':
      return `${cellName(err.column, header)} goes on after its closing quote (a stray quote?)`;
    default: {
      // Another csv-parse error: its words, without the value it may quote or its line count (which
      // counts from where the current parser started, not from the top of the file).
      let msg = err.message;
      const cut = msg.indexOf(', value is ');
      if (cut !== -1) msg = msg.slice(0, cut);
      return msg.replace(/ (at|on) line \d+/g, '');
    }
  }
}

/** A record that ran on (a quote never closed, the size limit): where reading goes on is worth saying even on one line. */
function isRunaway(fail: Failure): boolean {
  if (fail === TOO_LONG) return true;
  const code = (fail as { code?: unknown }).code;
  return code === 'CSV_QUOTE_NOT_CLOSED' || code === 'CSV_MAX_RECORD_SIZE';
}

/** Names a header cell in an error without showing a value that looks like personal data. */
function safeName(name: string): string {
  return maskLookAlike(name, true);
}

/**
 * The reader's last stage: CRLF-free bytes in, CsvRecords out, each with its physical start line.
 *
 * When a record breaks (bad quoting, a quote never closed, a record over the size limit, or a record
 * spanning lines with the wrong cell count, which is what a stray quote that is closed again further down
 * makes), it is reported once, at the line it starts on, and a new parser starts at the next physical
 * line, with the header already known. The lines after that start are read again rather than lost: a
 * stray quote costs one row, not the rest of the file. To read them again the bytes since the last good
 * record are kept (the Tape): at most one record's worth, bounded by the size limits above.
 */
class CsvRecords extends Transform {
  header: string[] | undefined;
  private width = 0;
  private readonly tape = new Tape();
  private engine!: Engine;
  private base = 0;       // offset where the current parser's input starts
  private lineBase = 0;   // physical line before the current parser's first line
  private prevEnd = 0;    // line the previous record ended on
  private prevEmpty = 0;  // the parser's empty-line count at that point
  private anchor = 0;     // offset just after the previous record: the next one starts here, after empty lines
  private anchorLine = 1; // the physical line at `anchor`
  /** A broken record's line, while the rest of its first line has yet to arrive to find where to go on; else 0. */
  private skipping = 0;
  /** A broken record's report, held until we know whether anything follows the line it starts on. */
  private pending: { line: number; reason: string } | null = null;
  private rereads = 0;
  private stopped = false;

  constructor(readonly file: string) {
    super({ readableObjectMode: true });
    this.startParser(0, 0);
  }

  private startParser(at: number, lineBase: number): void {
    this.engine = new Engine((record, info) => this.onRecord(record, info), PARSE_OPTIONS);
    this.base = at;
    this.lineBase = lineBase;
    this.prevEnd = lineBase;
    this.prevEmpty = 0;
    this.anchor = at;
    this.anchorLine = lineBase + 1;
  }

  private onRecord(record: string[], info: Info): void {
    const end = this.lineBase + info.lines;
    // Fast path: a record right after the previous one (and any empty lines) sits on one line.
    const line = end === this.prevEnd + 1 + info.empty_lines - this.prevEmpty ? end : end - breaksInCells(record);
    this.prevEnd = end;
    this.prevEmpty = info.empty_lines;
    const file = this.file;
    if (this.header === undefined) {
      this.setHeader(record, line);
    } else if (record.length !== this.width) {
      const reason = `has ${record.length} cell${record.length === 1 ? '' : 's'}, header has ${this.width}`;
      // Over several lines, this is most likely a stray quote that a later one closed: the lines it spans
      // are rows of their own, so read them again.
      if (line !== end) throw new Broken(reason);
      this.push({ file, line, error: reason } satisfies CsvRecord);
    } else {
      const header = this.header;
      const cells: Record<string, string> = {};
      let bad = -1;
      for (let i = 0; i < record.length; i++) {
        const v = record[i] as string;
        // U+FFFD is what a wrong --encoding turns into; sending it would corrupt data silently.
        if (v.indexOf('\uFFFD') !== -1) {
          bad = i;
          break;
        }
        cells[header[i] as string] = v;
      }
      this.push(bad === -1
        ? { file, line, cells } satisfies CsvRecord
        : { file, line, error: `${cellName(bad, header)} has bytes that are not valid in this encoding (wrong --encoding?)` } satisfies CsvRecord);
    }
    this.anchor = this.base + info.bytes;
    this.anchorLine = end + 1;
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
      // A "header" that is really a data row (a file without one) must not print its values.
      throw new SourceError('SYNC_SOURCE_HEADER', `${this.file}: duplicate column names in header: ${[...dups].map(safeName).join(', ')}`, ctx);
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

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.stopped || chunk.length === 0) return done();
    try {
      const at = this.tape.end;
      this.tape.append(chunk);
      if (this.skipping !== 0) {
        const i = breakIn(chunk, 0);
        if (i === -1) {
          this.tape.clear();
          return done();
        }
        this.startParser(at + i + 1, this.skipping);
        this.skipping = 0;
        this.settle();
        this.parseFrom(at + i + 1);
      } else {
        this.settle();
        this.parseFrom(at);
      }
      // Only the current record may have to be read again: drop what lies before it.
      if (!this.stopped && this.skipping === 0) {
        this.skipEmptyLines();
        this.tape.dropBefore(this.anchor);
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      while (!this.stopped && this.skipping === 0) {
        const fail = this.engine.finish();
        if (fail === undefined) break;
        const at = this.recover(fail);
        if (at < 0) break;
        this.parseFrom(at);
      }
      // Nothing follows the broken record's first line: there is nowhere to go on from.
      if (this.pending !== null) this.push({ file: this.file, line: this.pending.line, error: this.pending.reason } satisfies CsvRecord);
      this.pending = null;
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  /** Parse the held bytes from `at` on, going on past every broken record. */
  private parseFrom(at: number): void {
    while (at >= 0) {
      let next = -1;
      for (const piece of this.tape.slicesFrom(at)) {
        const fail = this.engine.feed(piece);
        if (fail !== undefined) {
          next = this.recover(fail);
          break;
        }
      }
      if (next < 0 && !this.stopped && this.skipping === 0) {
        this.skipEmptyLines();
        if (this.tape.end - this.anchor > MAX_RECORD_BYTES) next = this.recover(TOO_LONG);
      }
      at = next;
    }
  }

  /** Moves the anchor over empty lines, to where the next record starts. */
  private skipEmptyLines(): void {
    const n = this.tape.breaksFrom(this.anchor);
    this.anchor += n;
    this.anchorLine += n;
  }

  /**
   * A record broke: report it and start a new parser at the line after the one it starts on. Returns the
   * offset to parse from, or -1 when that line has not arrived yet (skipping), or reading stops.
   */
  private recover(fail: Failure): number {
    this.skipEmptyLines();
    const line = this.anchorLine; // the broken record starts at the anchor
    const reason = describeFailure(fail, this.header);
    if (this.header === undefined) {
      throw new SourceError('SYNC_SOURCE_HEADER', `${this.file}: header row cannot be parsed: ${reason}`, { file: this.file, line });
    }
    // The parser got past the record's first line: those lines are read again.
    const spans = this.lineBase + this.engine.info.lines > line;
    if (spans && ++this.rereads > MAX_REREADS) {
      this.push({
        file: this.file,
        line,
        error: `${reason}; reading stopped here: more than ${MAX_REREADS.toLocaleString('en-US')} records of this file are broken across lines, so the rest of it (from this line on) is not read; fix its quoting and run again`,
      } satisfies CsvRecord);
      this.stopped = true;
      this.tape.clear();
      return -1;
    }
    // Say where reading went on when that is not simply the next line: lines were read again, or skipped.
    if (spans || isRunaway(fail)) this.pending = { line, reason };
    else this.push({ file: this.file, line, error: reason } satisfies CsvRecord);
    const brk = this.tape.breakFrom(this.anchor);
    if (brk === -1) {
      // The record's first line goes on beyond what has arrived: skip to its end as it comes.
      this.skipping = line;
      this.tape.clear();
      return -1;
    }
    this.startParser(brk + 1, line);
    this.settle();
    return brk + 1;
  }

  /** Reports the held broken record once something follows its first line. */
  private settle(): void {
    const p = this.pending;
    if (p === null || this.skipping !== 0 || this.tape.end <= this.base) return;
    this.pending = null;
    this.push({ file: this.file, line: p.line, error: `${p.reason}; reading resumed at line ${p.line + 1}` } satisfies CsvRecord);
  }
}

function readError(file: string, err: unknown): SourceError {
  const detail = err instanceof Error ? err.message : String(err);
  return new SourceError('SYNC_SOURCE_READ', `cannot read ${file}: ${detail}`, { file, cause: err });
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

// ---- encoding check ------------------------------------------------------------------------------

/** How much of a file checkEncoding looks at: thousands of rows, read in a blink whatever the file's size. */
const ENCODING_SAMPLE = 256 * 1024;

export type EncodingCheck =
  | { ok: true }
  | { ok: true; warning: string }
  | { ok: false; line: number; message: string; suggest?: Encoding };

const ENCODING_NAMES: Record<Encoding, string> = { utf8: 'UTF-8', gbk: 'GBK', gb18030: 'GB18030' };

/**
 * Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF; what Node's decoder turns into U+FFFD), or -1. A sequence cut
 * short by the end of `buf` counts as fine when `cut`: the rest of it is in the part not read.
 */
function firstInvalidUtf8(buf: Buffer, cut: boolean): number {
  const n = buf.length;
  let i = 0;
  while (i < n) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80; // the range of the second byte; later ones are always 80-BF
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      else if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      else if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return cut ? -1 : i;
      const c = buf[i + k]!;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** The physical line (LF, CRLF or a lone CR ends one) holding code unit / byte `at` of `s`. */
function lineAt(s: Buffer | string, at: number): number {
  let line = 1;
  for (let i = 0; i < at; i++) {
    const c = typeof s === 'string' ? s.charCodeAt(i) : s[i];
    if (c === LF || (c === CR && (i + 1 >= s.length || (typeof s === 'string' ? s.charCodeAt(i + 1) : s[i + 1]) !== LF))) line++;
  }
  return line;
}

/** Where `buf` decoded as a GBK-family encoding first has a byte sequence that encoding does not have (as U+FFFD), or -1. */
function firstInvalidIn(buf: Buffer, encoding: 'gbk' | 'gb18030', cut: boolean): { text: string; at: number } {
  const decoder = iconv.getDecoder(encoding);
  // Without end() a lead byte cut off by the sample's end is held back, not reported.
  const text = decoder.write(buf) + (cut ? '' : decoder.end() ?? '');
  return { text, at: text.indexOf('\uFFFD') };
}

function hasNonAscii(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i]! >= 0x80) return true;
  return false;
}

/**
 * Whether the file is in the encoding the reader is told to use, judged from its first 256 KiB (after a byte
 * order mark, which wins as it does for the reader). Read as UTF-8, bytes that are not UTF-8 are not ok:
 * every row holding them would be rejected, so better to stop before anything is sent, and say which
 * encoding would read them cleanly. Read as GBK/GB18030, text that is valid UTF-8 is most likely UTF-8 (GBK
 * Chinese is almost never valid UTF-8): a warning, as is a byte the encoding does not have. Messages name
 * the line, never its bytes or text. Throws SourceError when the file cannot be opened or read.
 */
export async function checkEncoding(file: string, encoding: Encoding): Promise<EncodingCheck> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw readError(file, err);
  }
  try {
    let sniffed: { encoding: Encoding; start: number };
    try {
      sniffed = await sniff(handle, file, encoding);
    } catch (err) {
      if (err instanceof SourceError) return { ok: false, line: 1, message: err.message };
      throw err;
    }
    const { size } = await handle.stat();
    const sample = Buffer.alloc(Math.max(0, Math.min(ENCODING_SAMPLE, size - sniffed.start)));
    const { bytesRead } = await handle.read(sample, 0, sample.length, sniffed.start);
    const buf = sample.subarray(0, bytesRead);
    const cut = sniffed.start + bytesRead < size;
    const bad = firstInvalidUtf8(buf, cut);
    if (sniffed.encoding === 'utf8') {
      if (bad === -1) return { ok: true };
      const line = lineAt(buf, bad);
      const suggest = (['gbk', 'gb18030'] as const).find((e) => firstInvalidIn(buf, e, cut).at === -1);
      if (suggest === undefined) {
        return { ok: false, line, message: `${file}: line ${line} is not valid UTF-8, nor GBK or GB18030: save the file as UTF-8 (or pass the --encoding it is in)` };
      }
      return { ok: false, line, message: `${file}: line ${line} is not valid UTF-8; it looks ${ENCODING_NAMES[suggest]}-encoded: pass --encoding ${suggest}`, suggest };
    }
    const name = ENCODING_NAMES[sniffed.encoding];
    if (bad === -1 && hasNonAscii(buf)) {
      return { ok: true, warning: `${file}: read as ${name}, but its non-ASCII text is valid UTF-8: it looks UTF-8; check --encoding` };
    }
    const { text, at } = firstInvalidIn(buf, sniffed.encoding, cut);
    if (at === -1) return { ok: true };
    const wider = sniffed.encoding === 'gbk' && firstInvalidIn(buf, 'gb18030', cut).at === -1;
    return {
      ok: true,
      warning: `${file}: line ${lineAt(text, at)} has bytes that are not valid ${name} (rows with them will be rejected)${wider ? '; it may be GB18030: pass --encoding gb18030' : '; check --encoding'}`,
    };
  } catch (err) {
    throw err instanceof SourceError ? err : readError(file, err);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function openCsv(file: string, requested: Encoding): Promise<CsvRecords> {
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
  return records;
}

/** Our own errors (a bad header) end the file as they are; anything else is the file failing to be read. */
function failure(file: string, err: unknown): SourceError {
  return err instanceof SourceError ? err : readError(file, err);
}

function emptyFile(file: string): SourceError {
  return new SourceError('SYNC_SOURCE_HEADER', `${file} is empty: no header row`, { file });
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
export async function* readCsvBatches(file: string, opts: { encoding?: Encoding } = {}): AsyncGenerator<CsvRecord[]> {
  const records = await openCsv(file, opts.encoding ?? 'utf8');
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
