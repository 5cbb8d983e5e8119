import { closeSync, openSync, readSync, statSync } from 'node:fs';

/**
 * Ledger.inspect: what a --ledger path holds, read without SQLite. Any SQLite connection, even read-only,
 * creates -wal and -shm beside a WAL-mode database and leaves them there, and the CLI asks before it decides
 * whether to use the path at all: so this reads the few pages it needs itself (the file format is stable and
 * documented, https://sqlite.org/fileformat2.html). Committed pages still in the -wal (a running or killed
 * process) are read from there, as SQLite's own recovery would.
 */

export type LedgerFileKind =
  | { kind: 'absent' }
  | { kind: 'directory' }
  /** a 0-byte file (made by a process that stopped before SQLite wrote anything, or by `touch`) */
  | { kind: 'empty' }
  | { kind: 'ledger'; schemaVersion: number }
  /** not an SQLite file, SQLite without the ledger's meta table / schema_version, or unreadable (the OS reason) */
  | { kind: 'not-ledger'; reason: string };

const MAGIC = Buffer.from('SQLite format 3\u0000', 'latin1');
const WAL_MAGIC_LE = 0x377f0682;
const WAL_MAGIC_BE = 0x377f0683;
/** sqlite_master of any sane ledger is a handful of pages; a damaged file must not make us walk forever */
const MAX_PAGES_VISITED = 10_000;

export function inspectLedgerFile(path: string): LedgerFileKind {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) return { kind: 'directory' };
    if (!st.isFile()) return { kind: 'not-ledger', reason: 'not a regular file' };
    size = st.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    return { kind: 'not-ledger', reason: (err as Error).message };
  }
  if (size === 0) return { kind: 'empty' };
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return { kind: 'not-ledger', reason: (err as Error).message };
  }
  let wal: number | null = null;
  try {
    const header = Buffer.alloc(100);
    const n = readSync(fd, header, 0, 100, 0);
    if (n < 100 || !header.subarray(0, 16).equals(MAGIC)) return { kind: 'not-ledger', reason: 'not an SQLite database' };
    const rawPageSize = header.readUInt16BE(16);
    const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
    if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return { kind: 'not-ledger', reason: 'a damaged SQLite database (bad page size)' };
    const usable = pageSize - header[20]!;
    const encoding = header.readUInt32BE(56);
    // Bytes 18/19 are 2 in WAL mode: only then can newer pages be in the -wal.
    if (header[18] === 2) {
      try {
        wal = openSync(path + '-wal', 'r');
      } catch {
        wal = null; // no -wal: everything is in the main file
      }
    }
    const pages = new PageReader(fd, pageSize, wal, wal === null ? new Map() : committedWalFrames(wal, pageSize));
    const tree = new TableTree(pages, usable);
    let metaRoot: number | null = null;
    for (const cols of tree.rows(1)) {
      if (cols[0] === 'table' && cols[1] === 'meta' && typeof cols[3] === 'number') metaRoot = cols[3];
    }
    if (metaRoot === null) return { kind: 'not-ledger', reason: 'an SQLite database without the ledger\'s meta table' };
    let version: number | null = null;
    for (const cols of tree.rows(metaRoot)) {
      const key = decodeText(cols[0], encoding);
      if (key === 'schema_version') version = Number(decodeText(cols[1], encoding));
    }
    if (version === null || !Number.isInteger(version) || version < 1) {
      return { kind: 'not-ledger', reason: 'an SQLite database whose meta table has no schema_version' };
    }
    return { kind: 'ledger', schemaVersion: version };
  } catch (err) {
    return { kind: 'not-ledger', reason: `an unreadable SQLite database: ${(err as Error).message}` };
  } finally {
    closeSync(fd);
    if (wal !== null) closeSync(wal);
  }
}

type Value = null | number | string | Buffer;

/** Text values are decoded as latin1 while walking (UTF-8 is the default); decodeText applies the file's encoding. */
function decodeText(v: Value | undefined, encoding: number): string | null {
  if (typeof v === 'string') {
    const bytes = Buffer.from(v, 'latin1');
    if (encoding === 2) return bytes.toString('utf16le');
    if (encoding === 3) return Buffer.from(bytes).swap16().toString('utf16le');
    return bytes.toString('utf8');
  }
  return v === null || v === undefined ? null : String(v);
}

/**
 * The committed frames of a -wal file: page number → offset of its newest committed copy. Frames count only
 * while their salts match the header and their running checksum holds, and only up to the last commit frame:
 * the tail a crash tore off, or frames of an earlier generation of the file, are not part of the database.
 */
function committedWalFrames(fd: number, pageSize: number): Map<number, number> {
  const committed = new Map<number, number>();
  const head = Buffer.alloc(32);
  if (readSync(fd, head, 0, 32, 0) < 32) return committed;
  const magic = head.readUInt32BE(0);
  if ((magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) || head.readUInt32BE(8) !== pageSize) return committed;
  const bigEndian = magic === WAL_MAGIC_BE;
  let [s0, s1] = walChecksum(head.subarray(0, 24), bigEndian, 0, 0);
  if (s0 !== head.readUInt32BE(24) || s1 !== head.readUInt32BE(28)) return committed;
  const salt1 = head.readUInt32BE(16);
  const salt2 = head.readUInt32BE(20);
  const frame = Buffer.alloc(24 + pageSize);
  const pending = new Map<number, number>();
  for (let off = 32; ; off += 24 + pageSize) {
    if (readSync(fd, frame, 0, frame.length, off) < frame.length) break;
    if (frame.readUInt32BE(8) !== salt1 || frame.readUInt32BE(12) !== salt2) break;
    [s0, s1] = walChecksum(frame.subarray(0, 8), bigEndian, s0, s1);
    [s0, s1] = walChecksum(frame.subarray(24), bigEndian, s0, s1);
    if (s0 !== frame.readUInt32BE(16) || s1 !== frame.readUInt32BE(20)) break;
    pending.set(frame.readUInt32BE(0), off + 24);
    if (frame.readUInt32BE(4) !== 0) {
      for (const [page, at] of pending) committed.set(page, at);
      pending.clear();
    }
  }
  return committed;
}

/** SQLite's WAL checksum: Fibonacci-weighted sums over 32-bit words in the byte order the magic names. */
function walChecksum(data: Buffer, bigEndian: boolean, s0: number, s1: number): [number, number] {
  for (let i = 0; i + 8 <= data.length; i += 8) {
    const x0 = bigEndian ? data.readUInt32BE(i) : data.readUInt32LE(i);
    const x1 = bigEndian ? data.readUInt32BE(i + 4) : data.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}

/** Pages by number: the newest committed copy in the -wal if there is one, else the main file's. */
class PageReader {
  private visited = 0;
  constructor(
    private readonly fd: number,
    readonly pageSize: number,
    private readonly walFd: number | null,
    private readonly walFrames: Map<number, number>,
  ) {}

  page(n: number): Buffer {
    if (n < 1 || ++this.visited > MAX_PAGES_VISITED) throw new Error(`bad page reference ${n}`);
    const buf = Buffer.alloc(this.pageSize);
    const walAt = this.walFrames.get(n);
    const got = walAt !== undefined && this.walFd !== null
      ? readSync(this.walFd, buf, 0, this.pageSize, walAt)
      : readSync(this.fd, buf, 0, this.pageSize, (n - 1) * this.pageSize);
    if (got < this.pageSize) throw new Error(`page ${n} is beyond the end of the file`);
    return buf;
  }
}

/** Walks a table b-tree (rowid table) and decodes each row's record into its column values. */
class TableTree {
  constructor(
    private readonly pages: PageReader,
    private readonly usable: number,
  ) {}

  *rows(root: number): Generator<Value[]> {
    const stack = [root];
    while (stack.length) {
      const n = stack.pop()!;
      const page = this.pages.page(n);
      const at = n === 1 ? 100 : 0;
      const type = page[at]!;
      const cells = page.readUInt16BE(at + 3);
      if (type === 0x05) {
        // interior: children left to right, then the right-most pointer (order does not matter to us)
        stack.push(page.readUInt32BE(at + 8));
        for (let i = 0; i < cells; i++) stack.push(page.readUInt32BE(page.readUInt16BE(at + 12 + 2 * i)));
      } else if (type === 0x0d) {
        for (let i = 0; i < cells; i++) yield decodeRecord(this.payload(page, page.readUInt16BE(at + 8 + 2 * i)));
      } else {
        throw new Error(`page ${n} is not a table b-tree page`);
      }
    }
  }

  /** A leaf cell's payload, with its overflow pages (the size rules are the file format's). */
  private payload(page: Buffer, off: number): Buffer {
    const [size, a] = varint(page, off);
    const [, b] = varint(page, off + a);
    const start = off + a + b;
    const u = this.usable;
    const maxLocal = u - 35;
    if (size <= maxLocal) return page.subarray(start, start + size);
    const minLocal = Math.floor(((u - 12) * 32) / 255) - 23;
    const k = minLocal + ((size - minLocal) % (u - 4));
    const local = k <= maxLocal ? k : minLocal;
    const parts = [page.subarray(start, start + local)];
    let have = local;
    let next = page.readUInt32BE(start + local);
    while (have < size && next !== 0) {
      const ov = this.pages.page(next);
      const take = Math.min(u - 4, size - have);
      parts.push(ov.subarray(4, 4 + take));
      have += take;
      next = ov.readUInt32BE(0);
    }
    if (have < size) throw new Error('a record ends before its overflow pages do');
    return Buffer.concat(parts);
  }
}

function varint(buf: Buffer, off: number): [number, number] {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const byte = buf[off + i]!;
    v = v * 128 + (byte & 0x7f);
    if (byte < 0x80) return [v, i + 1];
  }
  return [v * 256 + buf[off + 8]!, 9];
}

function decodeRecord(rec: Buffer): Value[] {
  const [headerSize, h] = varint(rec, 0);
  const types: number[] = [];
  for (let off = h; off < headerSize; ) {
    const [t, n] = varint(rec, off);
    types.push(t);
    off += n;
  }
  const out: Value[] = [];
  let at = headerSize;
  for (const t of types) {
    if (t === 0) out.push(null);
    else if (t >= 1 && t <= 6) {
      const len = [0, 1, 2, 3, 4, 6, 8][t]!;
      out.push(len <= 6 ? rec.readIntBE(at, len) : Number(rec.readBigInt64BE(at)));
      at += len;
    } else if (t === 7) {
      out.push(rec.readDoubleBE(at));
      at += 8;
    } else if (t === 8 || t === 9) out.push(t - 8);
    else if (t >= 12) {
      const len = Math.floor((t - 12) / 2);
      const bytes = rec.subarray(at, at + len);
      out.push(t % 2 === 1 ? bytes.toString('latin1') : Buffer.from(bytes));
      at += len;
    } else throw new Error(`bad serial type ${t}`);
  }
  return out;
}
