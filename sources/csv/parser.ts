/**
 * The csv-parse wrapper: one parser over the CRLF-free bytes, stopped at the first broken record (see
 * records.ts for who starts the next one).
 */
import { Parser, type Info, type Options } from 'csv-parse';
import { Broken, type Failure } from './failures.js';

/**
 * Largest record csv-parse will build, in characters. A quote left open makes the rest of the file
 * one cell; this bound keeps that from eating memory (the record is then reported as broken).
 */
export const MAX_RECORD_CHARS = 1 << 20;

/**
 * csv-parse's parser, driven synchronously: each record goes to `sink` as it is parsed, nothing goes
 * through its stream side. csv-parse's only incremental API is a Transform; calling its _transform and
 * _flush directly (the Transform contract) means the parse of a chunk has ended when the call returns,
 * so the first error can stop it there and another parser can take over from any earlier line, which a
 * stream pipeline cannot rewind to. Hooking push rather than using on_record: on_record builds a fresh
 * info object per record, about a fifth of the parse time on million-row files, while `info` read here
 * is the same live counters.
 */
export class Engine extends Parser {
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

export const PARSE_OPTIONS: Options = {
  bom: false, // handled by sniff(); csv-parse would also switch to UTF-16 on its own
  record_delimiter: ['\n', '\r'], // after CrlfToLf; fixed so mixed line endings still split rows
  skip_empty_lines: true,
  relax_column_count: true, // compared with the header in onRecord, to report it our way and go on
  max_record_size: MAX_RECORD_CHARS,
};
