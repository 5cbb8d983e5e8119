/**
 * checkEncoding: whether a file is in the encoding it is about to be read in, from a sample, before
 * anything is sent.
 */
import { open, type FileHandle } from 'node:fs/promises';
import iconv from 'iconv-lite';
import { SourceError } from '../errors.js';
import { sniff, type Encoding } from './encoding.js';
import { lineAt } from './line-breaks.js';
import { readError } from './read-errors.js';

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
