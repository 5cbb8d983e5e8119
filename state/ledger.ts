import Database from 'better-sqlite3';
import { hash as oneShotHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { LedgerError } from './errors.js';
import { migrate } from './schema.js';

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
  history: { status: string; source: string; at: string }[];
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
  /** for tests of the lock: how to tell whether a pid is alive */
  isAlive?: (pid: number) => boolean;
  readonly?: boolean;
}

function defaultIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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
  private readonly secret: Buffer;
  private readonly secretText: string;
  private readonly stmts;
  private dryRunOpen = false;
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
    this.isAlive = options.isAlive ?? defaultIsAlive;
    try {
      this.db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    } catch (err) {
      throw new LedgerError('SYNC_LEDGER', `cannot open ledger ${path}: ${(err as Error).message}`);
    }
    const db = this.db;
    db.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('secure_delete = ON');
      // Checkpoint every ~40 MB of WAL rather than every 4 MB: each checkpoint ends in an fsync, and staging a
      // migration writes hundreds of MB. The WAL is folded and truncated when the ledger is closed anyway.
      db.pragma('wal_autocheckpoint = 10000');
      try {
        migrate(db);
      } catch (err) {
        throw new LedgerError('SYNC_LEDGER', `ledger ${path}: ${(err as Error).message}`);
      }
    }
    const secretRow = db.prepare("SELECT value FROM meta WHERE key = 'hash_secret'").get() as { value: string } | undefined;
    if (secretRow) {
      this.secret = Buffer.from(secretRow.value, 'base64');
    } else if (options.readonly) {
      this.secret = Buffer.alloc(32);
    } else {
      // Content hashes are keyed: a hash of personal data must not be reversible by guessing inputs.
      this.secret = randomBytes(32);
      db.prepare("INSERT INTO meta (key, value) VALUES ('hash_secret', ?)").run(this.secret.toString('base64'));
    }
    this.secretText = this.secret.toString('base64') + '\u0000';
    this.stmts = options.readonly ? null : this.prepare();
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
    return oneShotHash('sha256', this.secretText + payload, 'base64url').slice(0, 22);
  }

  // ---------------------------------------------------------------- lock

  /**
   * One run at a time per ledger. The lock names its holder's pid; a holder that died (kill -9) leaves a
   * lock that the next run takes over, so a crash never needs a manual unlock.
   */
  acquireLock(): { tookOverFrom: number | null } {
    const host = hostname();
    return this.db.transaction(() => {
      const held = this.db.prepare('SELECT pid, host, run_id, since FROM lock WHERE id = 1').get() as
        | { pid: number; host: string; run_id: number | null; since: string }
        | undefined;
      let tookOverFrom: number | null = null;
      if (held) {
        const alive = held.host !== host || this.isAlive(held.pid);
        if (alive && held.pid !== process.pid) {
          throw new LedgerError(
            'SYNC_LEDGER_BUSY',
            `ledger ${this.path} is in use by another alipay-sync run (pid ${held.pid} on ${held.host}, since ${held.since}` +
              `${held.run_id ? `, run ${held.run_id}` : ''}). Wait for it to finish, or use another --ledger.`,
          );
        }
        if (held.pid !== process.pid) tookOverFrom = held.pid;
        if (held.run_id) {
          this.db
            .prepare("UPDATE runs SET status = 'crashed', finished_at = COALESCE(finished_at, ?) WHERE id = ? AND status = 'running'")
            .run(this.now(), held.run_id);
        }
      }
      this.db.prepare('INSERT OR REPLACE INTO lock (id, pid, host, run_id, since) VALUES (1, ?, ?, NULL, ?)').run(process.pid, host, this.now());
      return { tookOverFrom };
    }).immediate();
  }

  releaseLock(): void {
    this.db.prepare('DELETE FROM lock WHERE id = 1 AND pid = ?').run(process.pid);
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

  /** Record what Alipay says of an agreement; a new agreement or a new status adds a history entry. */
  upsertAgreement(a: AgreementInput, source: 'effect' | 'query' | 'notify', runId?: number): { changed: boolean } {
    const now = this.now();
    return this.db.transaction(() => {
      const held = this.db.prepare('SELECT status FROM agreements WHERE agreement_no = ?').get(a.agreement_no) as { status: string } | undefined;
      this.db
        .prepare(
          `INSERT INTO agreements (agreement_no, status, alipay_user_id, personal_product_code, sign_scene, fields, source, first_seen, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (agreement_no) DO UPDATE SET status = excluded.status,
             alipay_user_id = COALESCE(excluded.alipay_user_id, alipay_user_id),
             personal_product_code = COALESCE(excluded.personal_product_code, personal_product_code),
             sign_scene = COALESCE(excluded.sign_scene, sign_scene), fields = excluded.fields, source = excluded.source,
             updated_at = excluded.updated_at`,
        )
        .run(a.agreement_no, a.status, a.alipay_user_id ?? null, a.personal_product_code ?? null, a.sign_scene ?? null, JSON.stringify(a.fields), source, now, now);
      const changed = held?.status !== a.status;
      if (changed) {
        this.db
          .prepare('INSERT INTO agreement_history (agreement_no, status, source, run_id, at) VALUES (?, ?, ?, ?, ?)')
          .run(a.agreement_no, a.status, source, runId ?? null, now);
      }
      return { changed };
    })();
  }

  /**
   * Apply a verified notification once: true when it changed the ledger, false for a resend of one already
   * applied (same notify_id), which must change nothing.
   */
  applyNotification(notifyId: string, a: AgreementInput): boolean {
    return this.db.transaction(() => {
      const first = this.db.prepare('INSERT OR IGNORE INTO notifications (notify_id, agreement_no, received_at) VALUES (?, ?, ?)')
        .run(notifyId, a.agreement_no, this.now()).changes === 1;
      if (first) this.upsertAgreement(a, 'notify');
      return first;
    })();
  }

  agreement(agreementNo: string): AgreementRow | undefined {
    const r = this.db.prepare('SELECT * FROM agreements WHERE agreement_no = ?').get(agreementNo) as Record<string, unknown> | undefined;
    if (!r) return undefined;
    const history = this.db
      .prepare('SELECT status, source, at FROM agreement_history WHERE agreement_no = ? ORDER BY id')
      .all(agreementNo) as { status: string; source: string; at: string }[];
    return {
      agreement_no: r.agreement_no as string, status: r.status as string, alipay_user_id: (r.alipay_user_id as string | null) ?? null,
      personal_product_code: (r.personal_product_code as string | null) ?? null, sign_scene: (r.sign_scene as string | null) ?? null,
      fields: JSON.parse(r.fields as string) as Record<string, unknown>, source: r.source as string, history,
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

  /** Look up one record (tests, status of a key). */
  record(dataset: string, key: string): Record<string, unknown> | undefined {
    return this.db.prepare('SELECT rowid, * FROM records WHERE dataset = ? AND key = ?').get(dataset, key) as Record<string, unknown> | undefined;
  }

  close(): void {
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
