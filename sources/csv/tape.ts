import { breakIn, CR, LF } from './line-breaks.js';

/**
 * The parser's input (after CRLF→LF) from the start of the record being read to what has arrived, so
 * that a broken record can be read again from the line after its start. Offsets are absolute: bytes
 * since the reader began. Whole chunks are kept (no copying); those before the current record are dropped.
 */
export class Tape {
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
