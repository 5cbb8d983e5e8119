import { hostname } from 'node:os';
import type { LedgerReports, LedgerRuns, RunInfo, RunSettings } from '../port.js';
import type { PgConnection } from './connection.js';
import { toRunInfo } from '../rows.js';

/**
 * A run's columns as read: a run still `running` whose worker's heartbeat expired (killed, its host lost) reads
 * as `crashed` at once, before the next worker to start records it so.
 */
const COLUMNS = `*, CASE WHEN status = 'running' AND NOT EXISTS (SELECT 1 FROM workers w WHERE w.run_id = runs.id AND w.expires_at >= now())
  THEN 'crashed' ELSE status END AS status`;

/** The runs table: one row per run (and per worker: several may run one dataset at once), named on its worker. */
export class PgRuns implements Omit<LedgerRuns<'async'>, 'beginDryRun' | 'rollbackDryRun'>, Pick<LedgerReports<'async'>, 'recentRuns' | 'runInfo'> {
  constructor(private readonly c: PgConnection) {}

  startRun(dataset: string, command: string, files: string[], dryRun: boolean, settings?: RunSettings): Promise<number> {
    const c = this.c;
    return c.tx(async (q) => {
      const [r] = await q<{ id: number }>(
        `INSERT INTO runs (dataset, command, files, dry_run, status, pid, host, worker, settings) VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8) RETURNING id`,
        [dataset, command, JSON.stringify(files), dryRun, process.pid, hostname(), c.worker, settings ? JSON.stringify(settings) : null],
      );
      await q('UPDATE workers SET run_id = $1 WHERE id = $2', [r!.id, c.worker]);
      return r!.id;
    });
  }

  async finishRun(runId: number, status: string, exitCode: number, summary: Record<string, unknown>, message?: string): Promise<void> {
    await this.c.query(
      'UPDATE runs SET finished_at = now(), status = $2, exit_code = $3, summary = $4, message = $5 WHERE id = $1',
      [runId, status, exitCode, JSON.stringify(summary), message ?? null],
    );
  }

  /** Staging is over for this run: workers waiting for the dataset's rows no longer wait for it (see sending.ts). */
  async stagingDone(runId: number): Promise<void> {
    await this.c.query("UPDATE runs SET phase = 'sending' WHERE id = $1", [runId]);
  }

  async recentRuns(limit = 10, dataset?: string): Promise<RunInfo[]> {
    const rows = await this.c.query<Record<string, unknown>>(
      `SELECT ${COLUMNS} FROM runs ${dataset ? 'WHERE dataset = $2' : ''} ORDER BY id DESC LIMIT $1`,
      dataset ? [limit, dataset] : [limit],
    );
    return rows.map(toRunInfo);
  }

  async runInfo(runId: number): Promise<RunInfo | undefined> {
    const [r] = await this.c.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM runs WHERE id = $1`, [runId]);
    return r ? toRunInfo(r) : undefined;
  }
}
