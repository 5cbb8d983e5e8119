/**
 * The encodings the reader decodes, the names people give them, and the byte order mark that overrides
 * the caller's choice (for the reader and for checkEncoding alike).
 */
import type { FileHandle } from 'node:fs/promises';
import { SourceError } from '../errors.js';

export type Encoding = 'utf8' | 'gbk' | 'gb18030';

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

/** Decide the encoding from a byte order mark, which beats the caller's guess: it cannot lie. */
export async function sniff(handle: FileHandle, file: string, encoding: Encoding): Promise<{ encoding: Encoding; start: number }> {
  const head = Buffer.alloc(4);
  const { bytesRead } = await handle.read(head, 0, 4, 0);
  if (bytesRead >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf8', start: 3 };
  if (bytesRead >= 4 && head.readUInt32BE(0) === 0x84319533) return { encoding: 'gb18030', start: 4 };
  if (bytesRead >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) {
    throw new SourceError('SYNC_SOURCE_READ', `cannot read ${file}: it is UTF-16 encoded; save it as UTF-8 or GBK CSV`, { file });
  }
  return { encoding, start: 0 };
}
