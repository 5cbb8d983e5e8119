import Database from 'better-sqlite3';
import { accessSync, closeSync, constants, existsSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { LedgerError } from '../errors.js';
import { migrate } from './schema.js';

/** How a SQLite ledger is opened (state/ledger.ts, class Ledger). */
export interface LedgerOptions {
  clock?: () => number;
  readonly?: boolean;
  /**
   * Key material the user keeps apart from the ledger (the CLI passes the DER bytes of the app private key):
   * the ledger's hash secret is stored only wrapped under a key derived from it. Without it (or hashSecret)
   * the ledger opens, but hash() throws: status and the notify receiver never hash.
   */
  hashKey?: Buffer;
  /** The already unwrapped secret (Ledger.hashSecret of another connection): for the staging thread. */
  hashSecret?: Buffer;
  /**
   * When hashKey cannot unwrap the stored secret (another app private key wrote the ledger): start afresh with a
   * new secret instead of refusing. Every row then counts as changed and is sent once more.
   */
  rebind?: boolean;
  /** A dry run changes nothing it decides: a secret made afresh by `rebind` stays in memory (the plan is right). */
  dryRun?: boolean;
  /** How long a lock held from another host stays valid unless renewed, in ms (default 120000). */
  leaseMs?: number;
  /** for tests of the lock: how to tell whether a pid is alive */
  isAlive?: (pid: number) => boolean;
  /** for tests of the lock: the start time of a pid on this host, null when unknown (see process-identity.ts) */
  procStart?: (pid: number) => string | null;
  /** for tests of the lock: this host's name */
  host?: string;
}

/** Two processes creating one ledger: the loser of `journal_mode = WAL` is told SQLITE_BUSY at once, not after busy_timeout. */
const OPEN_RETRY_MS = 10_000;

export function isBusy(err: unknown): boolean {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Run a setup step again while another connection holds the lock it needs, for a bounded time. */
export function retryBusy<T>(step: () => T): T {
  const deadline = performance.now() + OPEN_RETRY_MS;
  for (;;) {
    try {
      return step();
    } catch (err) {
      if (!isBusy(err) || performance.now() > deadline) throw err;
      sleepSync(5 + Math.random() * 20);
    }
  }
}

/**
 * Create a new ledger file readable by its owner only, before SQLite opens it: SQLite gives the -wal and -shm
 * files it creates the mode of the database file, so they are private too (they hold request bodies). An
 * existing file is left as it is.
 */
function createPrivate(path: string): void {
  if (path === ':memory:' || path === '') return;
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new LedgerError('SYNC_LEDGER', `cannot create ledger ${path}: ${(err as Error).message}`);
    }
  }
}

/**
 * Whether a reader (status, report) may open the file writable, with `query_only`: in WAL mode any connection
 * creates -wal and -shm beside the database, and only a writable one removes them when it is the last to close;
 * a read-only one left two empty files behind each time. So: writable where we could write anyway (the file and
 * its folder), unless -wal or -shm are already there (a run is on, or was killed): then they are someone else's,
 * and a read-only connection leaves them as they are.
 */
function leavesNoTrace(path: string): boolean {
  if (existsSync(path + '-wal') || existsSync(path + '-shm')) return false;
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    accessSync(dirname(path), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Open (creating it private when writable) the ledger file, set the pragmas, apply the migrations, then run
 * `init` (finding the hash secret) with BUSY retried; on any failure the database is closed again and the error
 * is a LedgerError naming the ledger.
 */
export function openDatabase<T>(path: string, readonly: boolean, init: (db: Database.Database) => T): { db: Database.Database; init: T } {
  if (!readonly) createPrivate(path);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: readonly && !leavesNoTrace(path), fileMustExist: readonly });
  } catch (err) {
    throw new LedgerError('SYNC_LEDGER', `cannot open ledger ${path}: ${(err as Error).message}`);
  }
  try {
    // Read-only by SQLite's own guard where the file was opened writable (see leavesNoTrace).
    if (readonly && !db.readonly) db.pragma('query_only = 1');
    db.pragma('busy_timeout = 5000');
    if (!readonly) {
      // Only the first connection to a new file really switches it; a concurrent creator may be told BUSY.
      retryBusy(() => db.pragma('journal_mode = WAL'));
      db.pragma('synchronous = NORMAL');
      db.pragma('secure_delete = ON');
      // Checkpoint every ~40 MB of WAL rather than every 4 MB: each checkpoint ends in an fsync, and staging a
      // migration writes hundreds of MB. The WAL is folded and truncated when the ledger is closed anyway.
      db.pragma('wal_autocheckpoint = 10000');
      retryBusy(() => migrate(db));
    }
    return { db, init: retryBusy(() => init(db)) };
  } catch (err) {
    db.close();
    if (err instanceof LedgerError) throw err;
    throw new LedgerError('SYNC_LEDGER', `ledger ${path}: ${(err as Error).message}`);
  }
}

/**
 * One open ledger database and what every concept of the adapter shares: its path (for messages), the clock,
 * the dry-run transaction and the close that folds the WAL. WAL mode, writes batched in transactions,
 * secure_delete so that a biz_content cleared after upload (it may hold personal data) does not linger in free
 * pages, and a checkpoint at close so it does not linger in the WAL either.
 */
export class SqliteConnection {
  private dryRunOpen = false;
  private lastNowMs = NaN;
  private lastNowText = '';
  /** called first by close(): the lock stops renewing */
  onClose: (() => void) | null = null;

  constructor(
    readonly path: string,
    readonly db: Database.Database,
    readonly clock: () => number,
    /** opened for reading (SQLite's readonly, or query_only): no write statements, no checkpoint at close */
    readonly readonly: boolean = db.readonly,
  ) {}

  /** ISO time of the clock; the text is reused within the same millisecond (it is written with every row). */
  now(): string {
    const ms = this.clock();
    if (ms !== this.lastNowMs) {
      this.lastNowMs = ms;
      this.lastNowText = new Date(ms).toISOString();
    }
    return this.lastNowText;
  }

  /**
   * Whether the schema has a table (and column): a ledger opened read-only (status) is not migrated, so one
   * written by an older version may lack what later migrations add.
   */
  has(table: string, column?: string): boolean {
    const cols = this.db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[];
    return column === undefined ? cols.length > 0 : cols.some((c) => c.name === column);
  }

  /** Statements prepared once for a writable ledger; using them on a read-only one is a LedgerError. */
  statements<T>(make: (db: Database.Database) => T): () => T {
    const made = this.readonly ? null : make(this.db);
    return () => {
      if (!made) throw new LedgerError('SYNC_LEDGER', 'ledger opened read-only');
      return made;
    };
  }

  /** Everything staged until rollbackDryRun() is undone: a dry run computes the real plan and leaves no trace. */
  beginDryRun(): void {
    this.db.exec('BEGIN');
    this.dryRunOpen = true;
  }

  rollbackDryRun(): void {
    if (this.dryRunOpen) this.db.exec('ROLLBACK');
    this.dryRunOpen = false;
  }

  close(): void {
    this.onClose?.();
    if (!this.db.open) return;
    this.rollbackDryRun();
    if (!this.readonly) {
      // Fold the WAL into the database and truncate it, so that cleared request bodies leave no copy behind.
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // a concurrent reader can keep the WAL busy; the next close will fold it
      }
    }
    this.db.close();
  }
}
