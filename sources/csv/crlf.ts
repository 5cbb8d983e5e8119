/**
 * CRLF→LF before parsing. csv-parse counts a line at every CR and every LF it looks at, except the LF of
 * a CRLF record delimiter, so a CRLF inside a quoted cell counts as two lines and every line number after
 * it drifts. Turning CRLF into LF first makes its count exact (LF, CRLF and a lone CR are each one line
 * break); it also means line breaks inside quoted cells reach the caller as LF.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { CR, LF } from './line-breaks.js';

const CR_ONLY = Buffer.from([CR]);

/** Drops the CR of every CRLF, in place: the chunks are ours (fresh per read / per decode). */
export class CrlfToLf extends Transform {
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
