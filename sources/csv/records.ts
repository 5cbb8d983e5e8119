/**
 * The record stream: CRLF-free bytes in, CsvRecords out, each with the physical line it starts on.
 *
 * Line numbers: with CRLF turned into LF first (crlf.ts), csv-parse's line count is exact. csv-parse
 * reports the line a record ENDS on, so the start line is that minus the line breaks inside the record's
 * cells.
 *
 * A broken record never ends a file. One stray quote makes csv-parse read on to the next quote, or to
 * the end of the file, as one cell: the good rows it swallowed would be lost without a word. So the
 * first error in a record stops that parser, the record is reported once at the line it starts on,
 * and a fresh parser takes over at the physical line after that start (see CsvRecords).
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { Info } from 'csv-parse';
import { SourceError } from '../errors.js';
import { Broken, cellName, describeFailure, isRunaway, TOO_LONG, type Failure } from './failures.js';
import { isRejectsHeader, unguardFormula } from './formula-guard.js';
import { headerNames } from './header.js';
import { breakIn, breaksInCells } from './line-breaks.js';
import { Engine, MAX_RECORD_CHARS, PARSE_OPTIONS } from './parser.js';
import { Tape } from './tape.js';

export type CsvRecord =
  | { file: string; line: number; cells: Record<string, string> }   // line = 1-based physical line where the record STARTS
  | { file: string; line: number; error: string };                   // a record that cannot be parsed (e.g. bad quoting, wrong cell count); reading goes on

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
export class CsvRecords extends Transform {
  header: string[] | undefined;
  private width = 0;
  /** a rejects file of ours: its cells were formula-guarded when written (formula-guard.ts) */
  private unguard = false;
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
        cells[header[i] as string] = this.unguard ? unguardFormula(v) : v;
      }
      this.push(bad === -1
        ? { file, line, cells } satisfies CsvRecord
        : { file, line, error: `${cellName(bad, header)} has bytes that are not valid in this encoding (wrong --encoding?)` } satisfies CsvRecord);
    }
    this.anchor = this.base + info.bytes;
    this.anchorLine = end + 1;
  }

  private setHeader(record: string[], line: number): void {
    this.header = headerNames(this.file, record, line);
    this.width = this.header.length;
    this.unguard = isRejectsHeader(this.header);
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
