import { LedgerError } from '../errors.js';
import type { LedgerLock, LockHolder, TookOver } from '../port.js';
import { isBusy, type SqliteConnection } from './open.js';

export interface LockOptions {
  /** how long a lock held from another host stays valid unless renewed, in ms */
  leaseMs: number;
  isAlive: (pid: number) => boolean;
  procStart: (pid: number) => string | null;
  host: string;
}

interface LockRow {
  pid: number;
  host: string;
  run_id: number | null;
  since: string;
  proc_start: string | null;
  renewed_at: string | null;
}

function formatMs(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/**
 * One run at a time per ledger. The lock names its holder (host, pid, the pid's start time) and is renewed
 * while held, so a lock whose holder is gone is taken over by the next run, and a crash never needs a manual
 * unlock: on this host when the pid is dead or now runs another process (pid reuse); from another host,
 * where pids cannot be checked, when the lease was not renewed for leaseMs. The lease compares this host's
 * clock with the time the other host wrote: hosts sharing a ledger need clocks closer than the lease.
 */
export class SqliteLock implements LedgerLock {
  private renewTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly conn: SqliteConnection,
    private readonly o: LockOptions,
  ) {}

  acquireLock(): { tookOver: TookOver | null } {
    const { db, path } = this.conn;
    const { host, leaseMs } = this.o;
    const myStart = this.o.procStart(process.pid);
    let result: { tookOver: TookOver | null };
    try {
      result = db.transaction(() => {
        const held = db.prepare('SELECT pid, host, run_id, since, proc_start, renewed_at FROM lock WHERE id = 1').get() as LockRow | undefined;
        let tookOver: TookOver | null = null;
        if (held) {
          let reason: TookOver['reason'] | null = null;
          if (held.host === host) {
            if (!this.o.isAlive(held.pid)) reason = 'dead';
            else {
              const start = held.proc_start === null ? null : this.o.procStart(held.pid);
              if (held.proc_start !== null && start !== null && start !== held.proc_start) reason = 'pid-reused';
              else if (held.pid !== process.pid) {
                throw new LedgerError(
                  'SYNC_LEDGER_BUSY',
                  `ledger ${path} is in use by another alipay-sync run (pid ${held.pid} on ${held.host}, since ${held.since}` +
                    `${held.run_id ? `, run ${held.run_id}` : ''}). Wait for it to finish, or use another --ledger.`,
                );
              }
              // else: this very process holds it (another Ledger on the same file): nothing to take over
            }
          } else {
            const renewed = held.renewed_at ?? held.since;
            if (this.conn.clock() - Date.parse(renewed) >= leaseMs) reason = 'lease-expired';
            else {
              throw new LedgerError(
                'SYNC_LEDGER_BUSY',
                `ledger ${path} is in use by another alipay-sync run (pid ${held.pid} on ${held.host}, since ${held.since}` +
                  `${held.run_id ? `, run ${held.run_id}` : ''}); its lock was last renewed at ${renewed} and is taken over ` +
                  `automatically if not renewed for ${formatMs(leaseMs)}. Wait for it to finish, or use another --ledger.`,
              );
            }
          }
          if (reason) tookOver = { pid: held.pid, host: held.host, since: held.since, reason };
          if (held.run_id) {
            db.prepare("UPDATE runs SET status = 'crashed', finished_at = COALESCE(finished_at, ?) WHERE id = ? AND status = 'running'")
              .run(this.conn.now(), held.run_id);
          }
        }
        const now = this.conn.now();
        db.prepare('INSERT OR REPLACE INTO lock (id, pid, host, run_id, since, proc_start, renewed_at) VALUES (1, ?, ?, NULL, ?, ?, ?)')
          .run(process.pid, host, now, myStart, now);
        return { tookOver };
      }).immediate();
    } catch (err) {
      if (isBusy(err)) {
        throw new LedgerError('SYNC_LEDGER_BUSY', `ledger ${path} is busy: another process kept it locked for writing too long to take the run lock. Try again, or use another --ledger.`);
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
    const timer = setInterval(() => this.renew(), Math.max(1, Math.floor(this.o.leaseMs / 4)));
    timer.unref();
    this.renewTimer = timer;
  }

  stopRenewing(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
  }

  private renew(): void {
    const db = this.conn.db;
    // Inside an open dry-run transaction the write would be rolled back with it: skip the beat.
    if (!db.open || db.inTransaction) return;
    try {
      db.pragma('busy_timeout = 0');
      const changes = db
        .prepare('UPDATE lock SET renewed_at = ? WHERE id = 1 AND pid = ? AND host = ?')
        .run(this.conn.now(), process.pid, this.o.host).changes;
      if (changes === 0) this.stopRenewing(); // not ours any more (released, or taken over): nothing to renew
    } catch {
      // busy, or a disk hiccup: the next beat tries again
    } finally {
      try {
        db.pragma('busy_timeout = 5000');
      } catch {
        // closed meanwhile
      }
    }
  }

  lockHolder(): LockHolder | null {
    const r = this.conn.db.prepare('SELECT pid, host, run_id, since, proc_start, renewed_at FROM lock WHERE id = 1').get() as LockRow | undefined;
    return r ? { pid: r.pid, host: r.host, runId: r.run_id, since: r.since, procStart: r.proc_start, renewedAt: r.renewed_at } : null;
  }

  releaseLock(): void {
    this.stopRenewing();
    this.conn.db.prepare('DELETE FROM lock WHERE id = 1 AND pid = ? AND host = ?').run(process.pid, this.o.host);
  }
}
