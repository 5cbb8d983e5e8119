import type { LedgerReports, LedgerRuns, RunInfo, RunSettings } from '../port.js';
import type { SqliteConnection } from './open.js';

/** The runs table: one row per run, named on the lock while it runs. (Dry runs: SqliteConnection.beginDryRun.) */
export class SqliteRuns implements Omit<LedgerRuns, 'beginDryRun' | 'rollbackDryRun'>, Pick<LedgerReports, 'recentRuns' | 'runInfo'> {
  constructor(private readonly conn: SqliteConnection) {}

  startRun(dataset: string, command: string, files: string[], dryRun: boolean, settings?: RunSettings): number {
    const db = this.conn.db;
    const info = db
      .prepare("INSERT INTO runs (dataset, command, files, dry_run, started_at, status, pid, settings) VALUES (?, ?, ?, ?, ?, 'running', ?, ?)")
      .run(dataset, command, JSON.stringify(files), dryRun ? 1 : 0, this.conn.now(), process.pid, settings ? JSON.stringify(settings) : null);
    const id = Number(info.lastInsertRowid);
    db.prepare('UPDATE lock SET run_id = ? WHERE id = 1 AND pid = ?').run(id, process.pid);
    return id;
  }

  finishRun(runId: number, status: string, exitCode: number, summary: Record<string, unknown>, message?: string): void {
    this.conn.db
      .prepare('UPDATE runs SET finished_at = ?, status = ?, exit_code = ?, summary = ?, message = ? WHERE id = ?')
      .run(this.conn.now(), status, exitCode, JSON.stringify(summary), message ?? null, runId);
  }

  recentRuns(limit = 10, dataset?: string): RunInfo[] {
    const db = this.conn.db;
    const rows = (
      dataset
        ? db.prepare('SELECT * FROM runs WHERE dataset = ? ORDER BY id DESC LIMIT ?').all(dataset, limit)
        : db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT ?').all(limit)
    ) as Record<string, unknown>[];
    return rows.map(runInfoOf);
  }

  runInfo(runId: number): RunInfo | undefined {
    const row = this.conn.db.prepare('SELECT * FROM runs WHERE id = ?').get(runId) as Record<string, unknown> | undefined;
    return row ? runInfoOf(row) : undefined;
  }
}

function runInfoOf(r: Record<string, unknown>): RunInfo {
  return {
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
    // (a ledger of an older version read without migrating has no such column)
    settings: typeof r.settings === 'string' ? (JSON.parse(r.settings) as RunSettings) : null,
  };
}
