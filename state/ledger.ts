import Database from 'better-sqlite3';
import { hash as oneShotHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { LedgerError } from './errors.js';
import { MIN_HASH_KEY_BYTES, SECRET_BYTES, newSecret, unwrapSecret, wrapSecret } from './hash-secret.js';
import { inspectLedgerFile, type LedgerFileKind } from './inspect.js';
import { isPidAlive, procStartOf } from './process-identity.js';
import { beijingTime, orderKey, orderTime, supersedes, type OrderKey } from './agreement-order.js';
import { migrate } from './schema.js';

export type { LedgerFileKind } from './inspect.js';

export type RecordStatus = 'pending' | 'uploaded' | 'failed';

export interface StageRow {
  key: string;
  snapshot: string;
  /** biz_content text: kept only while the row still has to be sent */
  payload: string;
  file: string;
  line: number;
}

/** What staging did with the rows of one batch (see Ledger.stage for the rules). */
export interface StageCounts {
  /** older than the snapshot Alipay already holds, or than another row of this run: never sent */
  superseded: number;
  /** identical to what Alipay already holds: never sent */
  unchanged: number;
  /** staged to be sent (a later row of the same run may still supersede it) */
  staged: number;
}

/** When a key already in the ledger is sent again (mirrors the dataset's sendPolicy). */
export type StagePolicy = 'snapshot' | 'once' | 'always';

export interface PendingRecord {
  rowid: number;
  /** the run that staged it: another run's row is carried over */
  run_id: number;
  key: string;
  snapshot: string;
  payload: string;
  attempts: number;
  file: string | null;
  line: number | null;
}

export interface AttemptRecord {
  runId: number;
  dataset: string;
  key: string;
  attempt: number;
  kind: string;
  code?: string | undefined;
  subCode?: string | undefined;
  durationMs?: number | undefined;
}

export interface ResultRecord {
  rowid: number;
  runId: number;
  /** uploaded: success; failed: refused (retryable when it was only the gateway's trouble); pending: unknown, send again */
  status: RecordStatus;
  retryable?: boolean;
  /** keep the request body (default: only while pending, or failed-but-retryable); rows with personal data pass false */
  keepPayload?: boolean;
  attempts: number;
  code?: string | undefined;
  subCode?: string | undefined;
  subMsg?: string | undefined;
  reason?: string | undefined;
  /** answer fields worth keeping (JSON text), for datasets whose answers carry data */
  result?: string | undefined;
}

export interface RejectRecord {
  file: string;
  line: number;
  field: string;
  reason: string;
}

export interface AgreementInput {
  agreement_no: string;
  status: string;
  alipay_user_id?: string | undefined;
  personal_product_code?: string | undefined;
  sign_scene?: string | undefined;
  /** everything Alipay said of it (already free of personal data) */
  fields: Record<string, unknown>;
}

export interface AgreementRow {
  agreement_no: string;
  status: string;
  alipay_user_id: string | null;
  personal_product_code: string | null;
  sign_scene: string | null;
  fields: Record<string, unknown>;
  source: string;
  /** every status it was seen in, and every notification received (applied or not), in the order received */
  history: AgreementHistoryEntry[];
  /** the order key of the state held (state/agreement-order.ts); null for a row stored before keys existed */
  since: string | null;
  told: string | null;
}

export interface AgreementHistoryEntry {
  status: string;
  source: string;
  /** when the ledger stored it (ISO, the ledger's clock) */
  at: string;
  /** false for a notification older than the state held: kept, but it changed nothing */
  applied: boolean;
  notify_id: string | null;
  notify_time: string | null;
  /** when its status began, by its own time fields (the order key's first part) */
  since: string | null;
}

/** What applyNotification did: applied (changed: the status moved), stale (older than the state held), resend. */
export interface NotificationApplied {
  result: 'applied' | 'stale' | 'resend';
  changed: boolean;
}

export interface RunInfo {
  id: number;
  dataset: string;
  command: string;
  files: string[];
  dryRun: boolean;
  startedAt: string;
  finishedAt: string | null;
  status: string;
  exitCode: number | null;
  summary: Record<string, unknown> | null;
  message: string | null;
}

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

/** Where the gateway sends a ledger's rows: a ledger's "uploaded" means uploaded there and nowhere else. */
export interface LedgerTarget {
  gateway: string;
  appId: string;
  /** the merchant an ISV acts for; stored only as a keyed hash */
  appAuthToken?: string | undefined;
}

export interface BindResult {
  /**
   * new: nothing was bound yet; adopted: nothing comparable was bound, but the ledger has history (runs written
   * by an older version, or a merchant hashed under a key since rebound); same; rebound: see `rebound`
   */
  state: 'new' | 'same' | 'adopted' | 'rebound' | 'moved';
  /** the target the ledger was bound to before, as text (rebound) */
  previous?: string;
  /** rows marked as not sent to the new target (rebound) */
  rebound?: number;
}

export interface TookOver {
  pid: number;
  host: string;
  since: string;
  /** dead: its pid is gone; pid-reused: its pid now runs another process; lease-expired: another host stopped renewing */
  reason: 'dead' | 'pid-reused' | 'lease-expired';
}

export interface LockHolder {
  pid: number;
  host: string;
  runId: number | null;
  since: string;
  procStart: string | null;
  renewedAt: string | null;
}

/** How the hash secret was found when the ledger was opened. */
export type SecretSource = 'created' | 'unwrapped' | 'wrapped-legacy' | 'rebound' | 'rebound-in-memory' | 'passed' | null;

const DEFAULT_LEASE_MS = 120_000;
/** Two processes creating one ledger: the loser of `journal_mode = WAL` is told SQLITE_BUSY at once, not after busy_timeout. */
const OPEN_RETRY_MS = 10_000;
/** A merchant hash made with a secret that has since been replaced: it can no longer be compared. */
const MERCHANT_UNKNOWN = '*';

function isBusy(err: unknown): boolean {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Run a setup step again while another connection holds the lock it needs, for a bounded time. */
function retryBusy<T>(step: () => T): T {
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

function formatMs(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function describeTarget(gateway: string, appId: string, merchant: string): string {
  const who = merchant === '' ? 'no app_auth_token'
    : merchant === MERCHANT_UNKNOWN ? 'a merchant hashed under a replaced key'
    : `merchant #${merchant.slice(0, 8)}`;
  return `${gateway} (app ${appId}, ${who})`;
}

interface ExistingRow {
  rowid: number;
  status: RecordStatus;
  snapshot: string;
  hash: string;
  run_id: number;
  uploaded_snapshot: string | null;
  uploaded_hash: string | null;
}

/**
 * The SQLite ledger: every SQL statement of the project lives in state/. WAL mode, writes batched in
 * transactions, secure_delete so that a payload cleared after upload (it may hold personal data) does not
 * linger in free pages, and a checkpoint at close so it does not linger in the WAL either.
 */
export class Ledger {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly clock: () => number;
  private readonly isAlive: (pid: number) => boolean;
  private readonly procStart: (pid: number) => string | null;
  private readonly host: string;
  private readonly leaseMs: number;
  private readonly secret: Buffer | null;
  /** the secret as the prefix of every hashed text (null: opened without the key, hash() refuses) */
  private readonly secretText: string | null;
  /** how the hash secret was found: lets the CLI say that a rebind made every row count as changed */
  readonly secretSource: SecretSource;
  private readonly stmts;
  private dryRunOpen = false;
  private renewTimer: NodeJS.Timeout | null = null;
  /** a moving estimate of the share of new keys among the rows staged lately */
  private newShare = 0.5;
  private get mostlyNew(): boolean {
    return this.newShare > 0.5;
  }
  private noteNew(isNew: boolean): void {
    this.newShare = this.newShare * 0.99 + (isNew ? 0.01 : 0);
  }

  constructor(path: string, options: LedgerOptions = {}) {
    this.path = path;
    this.clock = options.clock ?? Date.now;
    this.isAlive = options.isAlive ?? isPidAlive;
    this.procStart = options.procStart ?? procStartOf;
    this.host = options.host ?? hostname();
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const readonly = options.readonly ?? false;
    if (!readonly) createPrivate(path);
    try {
      this.db = new Database(path, { readonly, fileMustExist: readonly });
    } catch (err) {
      throw new LedgerError('SYNC_LEDGER', `cannot open ledger ${path}: ${(err as Error).message}`);
    }
    const db = this.db;
    try {
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
      const found = retryBusy(() => this.resolveSecret(options, readonly));
      this.secret = found.secret;
      this.secretSource = found.source;
    } catch (err) {
      db.close();
      if (err instanceof LedgerError) throw err;
      throw new LedgerError('SYNC_LEDGER', `ledger ${path}: ${(err as Error).message}`);
    }
    this.secretText = this.secret ? this.secret.toString('base64') + '\u0000' : null;
    this.stmts = readonly ? null : this.prepare();
  }

  /**
   * Find (or make) the hash secret. Content hashes are keyed so that a hash of personal data cannot be reversed
   * by guessing inputs; the secret is stored only wrapped (hash-secret.ts). Reading and writing it happen in one
   * BEGIN IMMEDIATE transaction, so two processes creating the same ledger end up with the same secret.
   */
  private resolveSecret(options: LedgerOptions, readonly: boolean): { secret: Buffer | null; source: SecretSource } {
    if (options.hashSecret) {
      if (options.hashSecret.length !== SECRET_BYTES) throw new LedgerError('SYNC_LEDGER', `ledger ${this.path}: the hash secret passed in is not ${SECRET_BYTES} bytes`);
      return { secret: Buffer.from(options.hashSecret), source: 'passed' };
    }
    const key = options.hashKey;
    if (!key) return { secret: null, source: null };
    if (key.length < MIN_HASH_KEY_BYTES) throw new LedgerError('SYNC_LEDGER', `ledger ${this.path}: the key material for its hashes is shorter than ${MIN_HASH_KEY_BYTES} bytes`);
    const db = this.db;
    const meta = (k: string) => (db.prepare('SELECT value FROM meta WHERE key = ?').get(k) as { value: string } | undefined)?.value;
    const setMeta = (k: string, v: string) => db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(k, v);
    const dropClear = () => db.prepare("DELETE FROM meta WHERE key = 'hash_secret'").run();
    const find = (): { secret: Buffer | null; source: SecretSource } => {
      const wrapped = meta('hash_secret_wrapped');
      const clear = meta('hash_secret');
      if (wrapped !== undefined) {
        const got = unwrapSecret(wrapped, key);
        if (Buffer.isBuffer(got)) {
          if (clear !== undefined && !readonly) dropClear(); // never both: the wrapped one is the truth
          return { secret: got, source: 'unwrapped' };
        }
        if (!options.rebind || readonly) {
          throw got === 'wrong-key'
            ? new LedgerError(
              'SYNC_LEDGER_KEY',
              `ledger ${this.path} was written with another app private key: its content hashes cannot be checked with this one. ` +
                'Use the key it was written with, or pass --rebind-ledger to start comparing afresh (every row then counts as changed and is sent once more)',
            )
            : new LedgerError('SYNC_LEDGER', `ledger ${this.path}: its stored hash secret is damaged; pass --rebind-ledger to start comparing afresh (every row then counts as changed and is sent once more)`);
        }
        const fresh = newSecret();
        if (options.dryRun) return { secret: fresh, source: 'rebound-in-memory' };
        setMeta('hash_secret_wrapped', wrapSecret(fresh, key));
        if (clear !== undefined) dropClear();
        // The bound merchant was hashed with the old secret: it cannot be compared any more (see bindTarget).
        db.prepare("UPDATE meta SET value = ? WHERE key = 'target_merchant' AND value <> ''").run(MERCHANT_UNKNOWN);
        return { secret: fresh, source: 'rebound' };
      }
      if (clear !== undefined) {
        // Written by an older version: keep the same secret, so the hashes already stored stay comparable.
        const secret = Buffer.from(clear, 'base64');
        if (readonly) return { secret, source: 'unwrapped' };
        setMeta('hash_secret_wrapped', wrapSecret(secret, key));
        dropClear(); // secure_delete is on, and close() truncates the WAL: the clear copy leaves no trace
        return { secret, source: 'wrapped-legacy' };
      }
      if (readonly) return { secret: null, source: null };
      const fresh = newSecret();
      setMeta('hash_secret_wrapped', wrapSecret(fresh, key));
      return { secret: fresh, source: 'created' };
    };
    return readonly ? find() : db.transaction(find).immediate();
  }

  /** The unwrapped hash secret, to pass to the staging thread's connection (StageThreadInit.hashSecret); never print it. */
  get hashSecret(): Buffer | null {
    return this.secret ? Buffer.from(this.secret) : null;
  }

  private prepare() {
    const db = this.db;
    return {
      existing: db.prepare(
        'SELECT rowid, status, snapshot, hash, run_id, uploaded_snapshot, uploaded_hash FROM records WHERE dataset = ? AND key = ?',
      ),
      insert: db.prepare(
        `INSERT INTO records (dataset, key, status, snapshot, hash, payload, run_id, file, line, updated_at)
         VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dataset, key) DO NOTHING`,
      ),
      restage: db.prepare(
        `UPDATE records SET status = 'pending', snapshot = ?, hash = ?, payload = ?, run_id = ?, file = ?, line = ?,
           attempts = 0, retryable = 0, updated_at = ? WHERE rowid = ?`,
      ),
      claim: db.prepare(
        `SELECT rowid, run_id, key, snapshot, payload, attempts, file, line FROM records
         WHERE dataset = ? AND status = 'pending' AND rowid > ? ORDER BY rowid LIMIT ?`,
      ),
      uploaded: db.prepare(
        `UPDATE records SET status = 'uploaded', payload = NULL, attempts = ?, retryable = 0, last_code = ?, last_sub_code = ?,
           last_sub_msg = ?, last_reason = ?, last_run_id = ?, uploaded_snapshot = snapshot, uploaded_hash = hash,
           uploaded_at = ?, result = ?, updated_at = ? WHERE rowid = ?`,
      ),
      outcome: db.prepare(
        `UPDATE records SET status = ?, payload = CASE WHEN ? THEN payload ELSE NULL END, attempts = ?, retryable = ?, last_code = ?,
           last_sub_code = ?, last_sub_msg = ?, last_reason = ?, last_run_id = ?, result = COALESCE(?, result), updated_at = ?
         WHERE rowid = ?`,
      ),
      attempt: db.prepare(
        'INSERT INTO attempts (run_id, dataset, key, attempt, at, kind, code, sub_code, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      reject: db.prepare('INSERT INTO rejects (run_id, dataset, file, line, field, reason) VALUES (?, ?, ?, ?, ?, ?)'),
    };
  }

  private get s() {
    if (!this.stmts) throw new LedgerError('SYNC_LEDGER', 'ledger opened read-only');
    return this.stmts;
  }

  private lastNowMs = NaN;
  private lastNowText = '';

  /** ISO time of the clock; the text is reused within the same millisecond (it is written with every row). */
  private now(): string {
    const ms = this.clock();
    if (ms !== this.lastNowMs) {
      this.lastNowMs = ms;
      this.lastNowText = new Date(ms).toISOString();
    }
    return this.lastNowText;
  }

  /**
   * A keyed content hash: SHA-256 over the ledger's secret and the text, first 128 bits as base64url text.
   * Without the secret (never printed) nobody can test a guessed ID number or phone against it. One-shot hashing
   * to text: a new Hmac object per row, or a Buffer digest, cost more than the rest of the row's staging.
   */
  hash(payload: string): string {
    if (this.secretText === null) {
      throw new LedgerError(
        'SYNC_LEDGER',
        `this ledger needs the app private key to compare content: ledger ${this.path} keeps the secret of its hashes wrapped under that key`,
      );
    }
    return oneShotHash('sha256', this.secretText + payload, 'base64url').slice(0, 22);
  }

  // ---------------------------------------------------------------- target

  /**
   * Bind the ledger to where its rows are sent. "Uploaded" in a ledger means "Alipay holds it" for one gateway,
   * app and merchant only: the same ledger pointed at another app would skip every row as already there.
   * So a different target is refused unless `rebind`, which marks every row held as uploaded as not sent to the
   * new target. Call it before startRun (a ledger with runs but no target was written by an older version).
   */
  bindTarget(t: LedgerTarget, o: { rebind?: boolean; dryRun?: boolean } = {}): BindResult {
    // (see also: `moved`, below: a ledger that never had a row confirmed at its target follows a new app id)
    const merchant = t.appAuthToken ? this.hash('merchant\u0000' + t.appAuthToken) : '';
    const next = describeTarget(t.gateway, t.appId, merchant);
    return this.db.transaction((): BindResult => {
      const meta = (k: string) => (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(k) as { value: string } | undefined)?.value;
      const store = () => {
        const set = this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
        set.run('target_gateway', t.gateway);
        set.run('target_app_id', t.appId);
        set.run('target_merchant', merchant);
      };
      const gateway = meta('target_gateway');
      const appId = meta('target_app_id');
      const stored = meta('target_merchant') ?? '';
      // A dry run that rebinds the key hashes with a secret it keeps in memory: the stored merchant cannot be compared.
      const held = this.secretSource === 'rebound-in-memory' && stored !== '' ? MERCHANT_UNKNOWN : stored;
      if (gateway === undefined || appId === undefined) {
        const hasRuns = this.db.prepare('SELECT 1 FROM runs LIMIT 1').get() !== undefined;
        if (!o.dryRun) store();
        return { state: hasRuns ? 'adopted' : 'new' };
      }
      const sameApp = gateway === t.gateway && appId === t.appId;
      if (sameApp && held === merchant) return { state: 'same' };
      if (sameApp && held === MERCHANT_UNKNOWN) {
        // The secret was replaced (a rebound key): every row counts as changed anyway, nothing to mark.
        if (!o.dryRun) store();
        return { state: 'adopted' };
      }
      const previous = describeTarget(gateway, appId, held);
      // Nothing was ever confirmed uploaded there (say, a first run with a mistyped app id that the gateway
      // refused): the ledger holds nothing another target lacks, so it follows the new gateway or app id by
      // itself, its pending rows kept. Not across merchants: pending rows hold one merchant's data.
      const confirmed = this.db.prepare("SELECT 1 FROM records WHERE status = 'uploaded' OR uploaded_snapshot IS NOT NULL LIMIT 1").get() !== undefined;
      if (!confirmed && held === merchant && !o.dryRun) {
        store();
        return { state: 'moved', previous };
      }
      if (!o.rebind || o.dryRun) {
        throw new LedgerError(
          'SYNC_LEDGER_TARGET',
          `ledger ${this.path} records what was sent to ${previous}, not to ${next}: ` +
            `use another --ledger for this target, or pass --rebind-ledger to bind this ledger to ${next} ` +
            `(rows it holds as uploaded to ${previous}, or still pending for it, are then marked as not sent to the new target, and are sent when their files are read again)` +
            (o.rebind ? '. A dry run cannot show the plan of a rebind: run without --dry-run to rebind' : ''),
        );
      }
      store();
      const now = this.now();
      const rebound = this.db
        .prepare(
          `UPDATE records SET status = 'failed', retryable = 0, uploaded_snapshot = NULL, uploaded_hash = NULL, uploaded_at = NULL,
             last_code = 'REBOUND', last_sub_code = 'REBOUND', last_reason = ?, updated_at = ? WHERE status = 'uploaded'`,
        )
        .run(`not sent to ${next} yet (ledger rebound from ${previous}): read its file again to send it`, now).changes;
      // Rows still pending (or waiting for a retry) were staged for the old target — another app, or another
      // merchant's data: they must not go to the new one unless a file names them again. Their bodies go too.
      this.db
        .prepare(
          `UPDATE records SET status = 'failed', retryable = 0, payload = NULL, last_code = 'REBOUND', last_sub_code = 'REBOUND',
             last_reason = ?, updated_at = ? WHERE status = 'pending' OR (status = 'failed' AND retryable = 1)`,
        )
        .run(`staged for ${previous}, not sent to ${next} (ledger rebound): read its file again to send it`, now);
      // What the old target holds says nothing of the new one: no row may be skipped as "unchanged" against it.
      this.db
        .prepare('UPDATE records SET uploaded_snapshot = NULL, uploaded_hash = NULL, uploaded_at = NULL WHERE uploaded_snapshot IS NOT NULL')
        .run();
      return { state: 'rebound', previous, rebound };
    }).immediate();
  }

  // ---------------------------------------------------------------- lock

  /**
   * One run at a time per ledger. The lock names its holder (host, pid, the pid's start time) and is renewed
   * while held, so a lock whose holder is gone is taken over by the next run, and a crash never needs a manual
   * unlock: on this host when the pid is dead or now runs another process (pid reuse); from another host,
   * where pids cannot be checked, when the lease was not renewed for leaseMs. The lease compares this host's
   * clock with the time the other host wrote: hosts sharing a ledger need clocks closer than the lease.
   */
  acquireLock(): { tookOver: TookOver | null } {
    const myStart = this.procStart(process.pid);
    let result: { tookOver: TookOver | null };
    try {
      result = this.db.transaction(() => {
        const held = this.db.prepare('SELECT pid, host, run_id, since, proc_start, renewed_at FROM lock WHERE id = 1').get() as
          | { pid: number; host: string; run_id: number | null; since: string; proc_start: string | null; renewed_at: string | null }
          | undefined;
        let tookOver: TookOver | null = null;
        if (held) {
          let reason: TookOver['reason'] | null = null;
          if (held.host === this.host) {
            if (!this.isAlive(held.pid)) reason = 'dead';
            else {
              const start = held.proc_start === null ? null : this.procStart(held.pid);
              if (held.proc_start !== null && start !== null && start !== held.proc_start) reason = 'pid-reused';
              else if (held.pid !== process.pid) {
                throw new LedgerError(
                  'SYNC_LEDGER_BUSY',
                  `ledger ${this.path} is in use by another alipay-sync run (pid ${held.pid} on ${held.host}, since ${held.since}` +
                    `${held.run_id ? `, run ${held.run_id}` : ''}). Wait for it to finish, or use another --ledger.`,
                );
              }
              // else: this very process holds it (another Ledger on the same file): nothing to take over
            }
          } else {
            const renewed = held.renewed_at ?? held.since;
            if (this.clock() - Date.parse(renewed) >= this.leaseMs) reason = 'lease-expired';
            else {
              throw new LedgerError(
                'SYNC_LEDGER_BUSY',
                `ledger ${this.path} is in use by another alipay-sync run (pid ${held.pid} on ${held.host}, since ${held.since}` +
                  `${held.run_id ? `, run ${held.run_id}` : ''}); its lock was last renewed at ${renewed} and is taken over ` +
                  `automatically if not renewed for ${formatMs(this.leaseMs)}. Wait for it to finish, or use another --ledger.`,
              );
            }
          }
          if (reason) tookOver = { pid: held.pid, host: held.host, since: held.since, reason };
          if (held.run_id) {
            this.db
              .prepare("UPDATE runs SET status = 'crashed', finished_at = COALESCE(finished_at, ?) WHERE id = ? AND status = 'running'")
              .run(this.now(), held.run_id);
          }
        }
        const now = this.now();
        this.db
          .prepare('INSERT OR REPLACE INTO lock (id, pid, host, run_id, since, proc_start, renewed_at) VALUES (1, ?, ?, NULL, ?, ?, ?)')
          .run(process.pid, this.host, now, myStart, now);
        return { tookOver };
      }).immediate();
    } catch (err) {
      if (isBusy(err)) {
        throw new LedgerError('SYNC_LEDGER_BUSY', `ledger ${this.path} is busy: another process kept it locked for writing too long to take the run lock. Try again, or use another --ledger.`);
      }
      throw err;
    }
    this.startRenewing();
    return result;
  }

  /**
   * Keep the lease fresh while the lock is held. The timer is unref'd (it never keeps the process alive) and a
   * renewal never throws: a database busy at that moment just skips one beat (the lease allows three), and
   * waiting is not allowed (busy_timeout 0) because this runs on the thread that sends.
   */
  private startRenewing(): void {
    this.stopRenewing();
    const timer = setInterval(() => this.renew(), Math.max(1, Math.floor(this.leaseMs / 4)));
    timer.unref();
    this.renewTimer = timer;
  }

  private stopRenewing(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
  }

  private renew(): void {
    // Inside an open dry-run transaction the write would be rolled back with it: skip the beat.
    if (!this.db.open || this.db.inTransaction) return;
    try {
      this.db.pragma('busy_timeout = 0');
      const changes = this.db
        .prepare('UPDATE lock SET renewed_at = ? WHERE id = 1 AND pid = ? AND host = ?')
        .run(this.now(), process.pid, this.host).changes;
      if (changes === 0) this.stopRenewing(); // not ours any more (released, or taken over): nothing to renew
    } catch {
      // busy, or a disk hiccup: the next beat tries again
    } finally {
      try {
        this.db.pragma('busy_timeout = 5000');
      } catch {
        // closed meanwhile
      }
    }
  }

  /** Who holds the run lock, if anyone (status, tests). */
  lockHolder(): LockHolder | null {
    const r = this.db.prepare('SELECT pid, host, run_id, since, proc_start, renewed_at FROM lock WHERE id = 1').get() as
      | { pid: number; host: string; run_id: number | null; since: string; proc_start: string | null; renewed_at: string | null }
      | undefined;
    return r ? { pid: r.pid, host: r.host, runId: r.run_id, since: r.since, procStart: r.proc_start, renewedAt: r.renewed_at } : null;
  }

  releaseLock(): void {
    this.stopRenewing();
    this.db.prepare('DELETE FROM lock WHERE id = 1 AND pid = ? AND host = ?').run(process.pid, this.host);
  }

  // ---------------------------------------------------------------- runs

  startRun(dataset: string, command: string, files: string[], dryRun: boolean): number {
    const info = this.db
      .prepare("INSERT INTO runs (dataset, command, files, dry_run, started_at, status, pid) VALUES (?, ?, ?, ?, ?, 'running', ?)")
      .run(dataset, command, JSON.stringify(files), dryRun ? 1 : 0, this.now(), process.pid);
    const id = Number(info.lastInsertRowid);
    this.db.prepare('UPDATE lock SET run_id = ? WHERE id = 1 AND pid = ?').run(id, process.pid);
    return id;
  }

  finishRun(runId: number, status: string, exitCode: number, summary: Record<string, unknown>, message?: string): void {
    this.db
      .prepare('UPDATE runs SET finished_at = ?, status = ?, exit_code = ?, summary = ?, message = ? WHERE id = ?')
      .run(this.now(), status, exitCode, JSON.stringify(summary), message ?? null, runId);
  }

  // ---------------------------------------------------------------- dry run

  /** Everything staged until rollbackDryRun() is undone: a dry run computes the real plan and leaves no trace. */
  beginDryRun(): void {
    this.db.exec('BEGIN');
    this.dryRunOpen = true;
  }

  rollbackDryRun(): void {
    if (this.dryRunOpen) this.db.exec('ROLLBACK');
    this.dryRunOpen = false;
  }

  // ---------------------------------------------------------------- staging

  /**
   * Stage a batch in one transaction. Per key the ledger keeps the newest snapshot:
   * - older than what Alipay holds (uploaded_snapshot) → superseded; identical to it → unchanged;
   * - older than a row already staged by this run → superseded; newer → replaces it (that one is superseded);
   * - the same snapshot twice in one run: the later row wins if its content differs, else it is a duplicate;
   * - a pending or failed row from an earlier run is taken over by this run (resume, retry).
   */
  stage(runId: number, dataset: string, rows: readonly StageRow[], policy: StagePolicy = 'snapshot'): StageCounts {
    const s = this.s;
    const counts: StageCounts = { superseded: 0, unchanged: 0, staged: 0 };
    const now = this.now();
    this.db.transaction(() => {
      for (const r of rows) {
        const hash = this.hash(r.payload);
        // A first migration is almost all new keys: try the insert first and look only on a conflict. A rerun is
        // almost all known keys: look first. Which way goes by what the previous rows were.
        let e: ExistingRow | undefined;
        if (this.mostlyNew) {
          if (s.insert.run(dataset, r.key, r.snapshot, hash, r.payload, runId, r.file, r.line, now).changes === 1) {
            counts.staged++;
            this.noteNew(true);
            continue;
          }
          e = s.existing.get(dataset, r.key) as ExistingRow;
        } else {
          e = s.existing.get(dataset, r.key) as ExistingRow | undefined;
          if (!e) {
            s.insert.run(dataset, r.key, r.snapshot, hash, r.payload, runId, r.file, r.line, now);
            counts.staged++;
            this.noteNew(true);
            continue;
          }
        }
        this.noteNew(false);
        if (policy === 'once' && e.status === 'uploaded') {
          counts.unchanged++; // done for good (an agreement once NORMAL): whatever the row says now
          continue;
        }
        if (policy === 'always' && e.status === 'uploaded') {
          s.restage.run(r.snapshot, hash, r.payload, runId, r.file, r.line, now, e.rowid);
          counts.staged++;
          continue;
        }
        if (e.uploaded_snapshot !== null) {
          if (r.snapshot < e.uploaded_snapshot) {
            counts.superseded++;
            continue;
          }
          if (r.snapshot === e.uploaded_snapshot && hash === e.uploaded_hash) {
            // Alipay holds exactly this. If a newer row is staged meanwhile it wins anyway.
            counts.unchanged++;
            continue;
          }
        }
        if (e.status !== 'uploaded') {
          const mine = e.run_id === runId;
          if (r.snapshot < e.snapshot) {
            if (mine) {
              counts.superseded++;
              continue;
            }
            // An older row than a leftover from an earlier run: the leftover is newer and still wanted.
            counts.superseded++;
            continue;
          }
          if (r.snapshot === e.snapshot && hash === e.hash && mine) {
            counts.superseded++; // an exact duplicate line within this run
            continue;
          }
          if (mine) counts.staged--; // the row it replaces was counted as staged by this run
          if (mine) counts.superseded++;
        }
        s.restage.run(r.snapshot, hash, r.payload, runId, r.file, r.line, now, e.rowid);
        counts.staged++;
      }
    })();
    return counts;
  }

  addRejects(runId: number, dataset: string, rejects: readonly RejectRecord[]): void {
    const s = this.s;
    this.db.transaction(() => {
      for (const r of rejects) s.reject.run(runId, dataset, r.file, r.line, r.field, r.reason);
    })();
  }

  /**
   * Rows that failed only because the gateway was in trouble get another chance in the next run, where their
   * request body was kept (rows with personal data keep none: they come back when their file is read again).
   */
  reviveRetryable(dataset: string): number {
    return this.db
      .prepare("UPDATE records SET status = 'pending', retryable = 0, attempts = 0, updated_at = ? WHERE dataset = ? AND status = 'failed' AND retryable = 1 AND payload IS NOT NULL")
      .run(this.now(), dataset).changes;
  }

  /** What this run staged and still has to send: new keys, and keys Alipay holds an older/different snapshot of. */
  stagedPlan(runId: number, dataset: string): { new: number; changed: number } {
    const row = this.db
      .prepare(
        `SELECT SUM(uploaded_snapshot IS NULL) AS fresh, SUM(uploaded_snapshot IS NOT NULL) AS changed
         FROM records WHERE run_id = ? AND dataset = ? AND status = 'pending'`,
      )
      .get(runId, dataset) as { fresh: number | null; changed: number | null };
    return { new: row.fresh ?? 0, changed: row.changed ?? 0 };
  }

  countPending(dataset: string): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM records WHERE dataset = ? AND status = 'pending'").get(dataset) as { n: number }).n;
  }

  // ---------------------------------------------------------------- sending

  /** Pending rows after `afterRowid`, oldest first; the caller walks the cursor so each row is claimed once per run. */
  claimPending(dataset: string, afterRowid: number, limit: number): PendingRecord[] {
    return this.s.claim.all(dataset, afterRowid, limit) as PendingRecord[];
  }

  recordAttempt(a: AttemptRecord): void {
    this.s.attempt.run(a.runId, a.dataset, a.key, a.attempt, this.now(), a.kind, a.code ?? null, a.subCode ?? null, a.durationMs ?? null);
  }

  /** Record several outcomes in one transaction (group commit: one WAL append for all of them). */
  recordResults(items: readonly { result: ResultRecord; attempt?: AttemptRecord | undefined }[]): void {
    this.db.transaction(() => {
      for (const it of items) this.writeResult(it.result, it.attempt);
    })();
  }

  /** Record a row's final outcome for this run, with its last attempt, in one transaction. */
  recordResult(r: ResultRecord, attempt?: AttemptRecord): void {
    this.db.transaction(() => this.writeResult(r, attempt))();
  }

  private writeResult(r: ResultRecord, attempt: AttemptRecord | undefined): void {
    const s = this.s;
    const now = this.now();
    if (attempt) this.recordAttempt(attempt);
    if (r.status === 'uploaded') {
      s.uploaded.run(r.attempts, r.code ?? null, r.subCode ?? null, r.subMsg ?? null, r.reason ?? null, r.runId, now, r.result ?? null, now, r.rowid);
    } else {
      // The payload is kept only where the row will be sent again without re-reading its file.
      const keep = r.status === 'pending' || (r.keepPayload ?? Boolean(r.retryable)) ? 1 : 0;
      s.outcome.run(
        r.status, keep, r.attempts, r.retryable ? 1 : 0, r.code ?? null, r.subCode ?? null, r.subMsg ?? null,
        r.reason ?? null, r.runId, r.result ?? null, now, r.rowid,
      );
    }
  }

  // ---------------------------------------------------------------- agreements

  /**
   * Record what Alipay answered of an agreement (an `agreements effect` or `agreements query` answer: its state
   * when asked). It is stored as it comes, and sets the order key notices are compared with (see
   * state/agreement-order.ts: its own time fields, told at the ledger's clock in Beijing time); a new agreement
   * or a new status adds a history entry.
   */
  upsertAgreement(a: AgreementInput, source: 'effect' | 'query' | 'notify', runId?: number): { changed: boolean } {
    const now = this.now();
    const key = orderKey(a.status, a.fields, beijingTime(this.clock()));
    return this.db.transaction(() => {
      const held = this.db.prepare('SELECT status FROM agreements WHERE agreement_no = ?').get(a.agreement_no) as { status: string } | undefined;
      this.writeAgreement(a, source, key, now);
      const changed = held?.status !== a.status;
      if (changed) {
        this.db
          .prepare('INSERT INTO agreement_history (agreement_no, status, source, run_id, at, applied, since) VALUES (?, ?, ?, ?, ?, 1, ?)')
          .run(a.agreement_no, a.status, source, runId ?? null, now, key.since);
      }
      return { changed };
    })();
  }

  private writeAgreement(a: AgreementInput, source: string, key: OrderKey, now: string): void {
    this.db
      .prepare(
        `INSERT INTO agreements (agreement_no, status, alipay_user_id, personal_product_code, sign_scene, fields, source, first_seen, updated_at, state_since, state_told)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (agreement_no) DO UPDATE SET status = excluded.status,
           alipay_user_id = COALESCE(excluded.alipay_user_id, alipay_user_id),
           personal_product_code = COALESCE(excluded.personal_product_code, personal_product_code),
           sign_scene = COALESCE(excluded.sign_scene, sign_scene), fields = excluded.fields, source = excluded.source,
           updated_at = excluded.updated_at, state_since = excluded.state_since, state_told = excluded.state_told`,
      )
      .run(
        a.agreement_no, a.status, a.alipay_user_id ?? null, a.personal_product_code ?? null, a.sign_scene ?? null,
        JSON.stringify(a.fields), source, now, now, key.since, key.told,
      );
  }

  /**
   * Apply a verified notification (dut_user_sign or dut_user_unsign) once.
   *
   * - A resend of one already received (same notify_id) changes nothing: `resend`.
   * - Otherwise the notice is ordered against the state held by its own time fields (state/agreement-order.ts):
   *   not older, it is applied (`applied`; `changed` says whether the status moved); older, the state stays
   *   (`stale`). Either way it is kept as history, with its notify_id, notify_time, the time its status began
   *   and whether it was applied.
   */
  applyNotification(notifyId: string, a: AgreementInput, notifyTime?: string): NotificationApplied {
    const now = this.now();
    return this.db.transaction((): NotificationApplied => {
      const first = this.db.prepare('INSERT OR IGNORE INTO notifications (notify_id, agreement_no, received_at) VALUES (?, ?, ?)')
        .run(notifyId, a.agreement_no, now).changes === 1;
      if (!first) return { result: 'resend', changed: false };
      const key = orderKey(a.status, a.fields, orderTime(notifyTime) ?? '');
      const held = this.db
        .prepare('SELECT status, state_since, state_told FROM agreements WHERE agreement_no = ?')
        .get(a.agreement_no) as { status: string; state_since: string | null; state_told: string | null } | undefined;
      const heldKey = held && held.state_since !== null ? { since: held.state_since, told: held.state_told ?? '' } : null;
      const apply = supersedes(key, a.status, heldKey, held?.status);
      if (apply) this.writeAgreement(a, 'notify', key, now);
      this.db
        .prepare(
          `INSERT INTO agreement_history (agreement_no, status, source, run_id, at, applied, notify_id, notify_time, since)
           VALUES (?, ?, 'notify', NULL, ?, ?, ?, ?, ?)`,
        )
        .run(a.agreement_no, a.status, now, apply ? 1 : 0, notifyId, notifyTime ?? null, key.since);
      return { result: apply ? 'applied' : 'stale', changed: apply && held?.status !== a.status };
    })();
  }

  agreement(agreementNo: string): AgreementRow | undefined {
    const r = this.db.prepare('SELECT * FROM agreements WHERE agreement_no = ?').get(agreementNo) as Record<string, unknown> | undefined;
    if (!r) return undefined;
    const rows = this.db
      .prepare('SELECT status, source, at, applied, notify_id, notify_time, since FROM agreement_history WHERE agreement_no = ? ORDER BY id')
      .all(agreementNo) as { status: string; source: string; at: string; applied: number; notify_id: string | null; notify_time: string | null; since: string | null }[];
    const history = rows.map((h) => ({ ...h, applied: h.applied === 1 }));
    return {
      agreement_no: r.agreement_no as string, status: r.status as string, alipay_user_id: (r.alipay_user_id as string | null) ?? null,
      personal_product_code: (r.personal_product_code as string | null) ?? null, sign_scene: (r.sign_scene as string | null) ?? null,
      fields: JSON.parse(r.fields as string) as Record<string, unknown>, source: r.source as string, history,
      since: (r.state_since as string | null) ?? null, told: (r.state_told as string | null) ?? null,
    };
  }

  // ---------------------------------------------------------------- reports

  /** Final state of the rows this run staged, by status. */
  runOutcomes(runId: number, dataset: string): Record<RecordStatus, number> {
    const out: Record<RecordStatus, number> = { pending: 0, uploaded: 0, failed: 0 };
    const rows = this.db
      .prepare('SELECT status, COUNT(*) AS n FROM records WHERE run_id = ? AND dataset = ? GROUP BY status')
      .all(runId, dataset) as { status: RecordStatus; n: number }[];
    for (const r of rows) out[r.status] = r.n;
    return out;
  }

  recentRuns(limit = 10, dataset?: string): RunInfo[] {
    const rows = (
      dataset
        ? this.db.prepare('SELECT * FROM runs WHERE dataset = ? ORDER BY id DESC LIMIT ?').all(dataset, limit)
        : this.db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT ?').all(limit)
    ) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: r.id as number,
      dataset: r.dataset as string,
      command: r.command as string,
      files: JSON.parse(r.files as string) as string[],
      dryRun: r.dry_run === 1,
      startedAt: r.started_at as string,
      finishedAt: (r.finished_at as string | null) ?? null,
      status: r.status as string,
      exitCode: (r.exit_code as number | null) ?? null,
      summary: r.summary ? (JSON.parse(r.summary as string) as Record<string, unknown>) : null,
      message: (r.message as string | null) ?? null,
    }));
  }

  /** Rows currently failed, grouped by the gateway's sub_code (or local code), most frequent first. */
  failuresBySubCode(dataset?: string): { dataset: string; subCode: string; count: number; example: string | null }[] {
    const sql = `SELECT dataset, COALESCE(last_sub_code, last_code, 'unknown') AS sub, COUNT(*) AS n, MIN(last_reason) AS example
       FROM records WHERE status = 'failed' ${dataset ? 'AND dataset = ?' : ''} GROUP BY dataset, sub ORDER BY n DESC`;
    const rows = (dataset ? this.db.prepare(sql).all(dataset) : this.db.prepare(sql).all()) as {
      dataset: string; sub: string; n: number; example: string | null;
    }[];
    return rows.map((r) => ({ dataset: r.dataset, subCode: r.sub, count: r.n, example: r.example }));
  }

  totals(): { dataset: string; status: RecordStatus; count: number }[] {
    return (this.db.prepare('SELECT dataset, status, COUNT(*) AS count FROM records GROUP BY dataset, status ORDER BY dataset, status').all() as {
      dataset: string; status: RecordStatus; count: number;
    }[]);
  }

  /**
   * The kept results of the rows uploaded with one snapshot, in the order they were first staged: for datasets
   * that ask again every run, the snapshot is the export session, so these are the answers of a whole export,
   * across the interrupted runs it took. Iterated, not loaded: an export can hold millions of answers.
   */
  *sessionResults(dataset: string, snapshot: string): IterableIterator<string | null> {
    const rows = this.db
      .prepare("SELECT result FROM records WHERE dataset = ? AND status = 'uploaded' AND uploaded_snapshot = ? ORDER BY rowid")
      .pluck()
      .iterate(dataset, snapshot) as IterableIterator<string | null>;
    yield* rows;
  }

  /**
   * Forget the pending rows of a dataset that belong to another export session than `snapshot`: questions an
   * abandoned (interrupted, not continued) export staged and never asked. They are asked again when a file
   * names them; sent now, their answers would land in an export that did not ask for them.
   */
  dropPendingOutside(dataset: string, snapshot: string): number {
    return this.db.prepare("DELETE FROM records WHERE dataset = ? AND status = 'pending' AND snapshot <> ?").run(dataset, snapshot).changes;
  }

  /** Look up one record (tests, status of a key). */
  record(dataset: string, key: string): Record<string, unknown> | undefined {
    return this.db.prepare('SELECT rowid, * FROM records WHERE dataset = ? AND key = ?').get(dataset, key) as Record<string, unknown> | undefined;
  }

  /**
   * What is at `path`, without creating or changing any file (not even -wal/-shm, which any SQLite connection,
   * read-only or not, would create): the CLI checks --ledger before anything is read or sent.
   */
  static inspect(path: string): LedgerFileKind {
    return inspectLedgerFile(path);
  }

  close(): void {
    this.stopRenewing();
    if (!this.db.open) return;
    this.rollbackDryRun();
    if (!this.db.readonly) {
      // Fold the WAL into the database and truncate it, so that cleared payloads leave no copy behind.
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // a concurrent reader can keep the WAL busy; the next close will fold it
      }
    }
    this.db.close();
  }
}
