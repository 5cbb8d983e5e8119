import { hostname } from 'node:os';
import type { LedgerLock, LockHolder, TookOver } from '../port.js';
import type { PgConnection } from './connection.js';

interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  run_id: number | null;
  since: string;
  renewed_at: string;
}

/**
 * The run lock of a PostgreSQL ledger is no lock: several workers may run at once (claims are leases, see
 * sending.ts). acquireLock registers this process as a worker with a heartbeat that expires after the lease
 * unless renewed; the same timer renews the claims it holds. A worker whose heartbeat expired (killed, its host
 * lost) is reaped by the next one to start: its runs are recorded as crashed and its claims freed, so its rows
 * go to the others. Times are the server's, so the hosts' clocks need not agree.
 */
export class PgWorkers implements LedgerLock<'async'> {
  private timer: NodeJS.Timeout | null = null;
  private readonly host: string;

  constructor(private readonly c: PgConnection, host?: string) {
    this.host = host ?? hostname();
  }

  async acquireLock(): Promise<{ tookOver: TookOver | null }> {
    const c = this.c;
    const reaped = await c.tx(async (q) => {
      const gone = await q<WorkerRow>('DELETE FROM workers WHERE expires_at < now() RETURNING id, host, pid, run_id, since, renewed_at');
      // Runs whose worker is gone (expired now, or deleted without finishing them): crashed, as the SQLite lock says.
      await q(
        `UPDATE runs SET status = 'crashed', finished_at = COALESCE(finished_at, now())
         WHERE status = 'running' AND NOT EXISTS (SELECT 1 FROM workers w WHERE w.run_id = runs.id AND w.expires_at >= now())`,
      );
      if (gone.length) await q('UPDATE records SET claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = ANY($1)', [gone.map((g) => g.id)]);
      await q(
        `INSERT INTO workers (id, host, pid, expires_at) VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
         ON CONFLICT (id) DO UPDATE SET renewed_at = now(), expires_at = EXCLUDED.expires_at`,
        [c.worker, this.host, process.pid, c.leaseMs],
      );
      return gone;
    });
    if (!c.isDryRun) this.startRenewing();
    const w = reaped.find((g) => g.run_id !== null) ?? reaped[0];
    return { tookOver: w ? { pid: w.pid, host: w.host, since: w.since, reason: 'lease-expired' } : null };
  }

  private startRenewing(): void {
    this.stopRenewing();
    const timer = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.c.leaseMs / 3)));
    timer.unref();
    this.timer = timer;
  }

  stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * The heartbeat and this worker's claims, renewed together. Never throws: a beat that fails (the server
   * restarting) is retried at the next; a worker that stayed away longer than the lease comes back as a new
   * heartbeat, but the rows it lost are the others' now (its results for them count as attempts only).
   */
  private async renew(): Promise<void> {
    const c = this.c;
    try {
      await c.query(
        `INSERT INTO workers (id, host, pid, expires_at) VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
         ON CONFLICT (id) DO UPDATE SET renewed_at = now(), expires_at = EXCLUDED.expires_at`,
        [c.worker, this.host, process.pid, c.leaseMs],
      );
      await c.query(
        "UPDATE records SET claim_expires_at = now() + $2 * interval '1 millisecond' WHERE claimed_by = $1 AND status = 'pending'",
        [c.worker, c.leaseMs],
      );
    } catch {
      // the next beat tries again
    }
  }

  /** The live worker that started last, other than this one (status, tests). */
  async lockHolder(): Promise<LockHolder | null> {
    const [r] = await this.c.query<WorkerRow>(
      'SELECT id, host, pid, run_id, since, renewed_at FROM workers WHERE expires_at >= now() AND id <> $1 ORDER BY since DESC LIMIT 1',
      [this.c.worker],
    );
    return r ? { pid: r.pid, host: r.host, runId: r.run_id, since: r.since, procStart: null, renewedAt: r.renewed_at } : null;
  }

  /** Leave: this worker's claims on rows it did not send go back to the others at once, and its heartbeat goes. */
  async releaseLock(): Promise<void> {
    this.stopRenewing();
    const c = this.c;
    await c.tx(async (q) => {
      await q("UPDATE records SET claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = $1", [c.worker]);
      await q('DELETE FROM workers WHERE id = $1', [c.worker]);
    });
  }
}
