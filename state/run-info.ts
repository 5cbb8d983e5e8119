import type { RunInfo } from './model.js';

/** A row of the `runs` table as RunInfo, whichever adapter read it (SQLite's 0/1 or PostgreSQL's boolean). */
export function toRunInfo(r: Record<string, unknown>): RunInfo {
  return {
    id: r.id as number,
    dataset: r.dataset as string,
    command: r.command as string,
    files: JSON.parse(r.files as string) as string[],
    dryRun: r.dry_run === 1 || r.dry_run === true,
    startedAt: r.started_at as string,
    finishedAt: (r.finished_at as string | null) ?? null,
    status: r.status as string,
    exitCode: (r.exit_code as number | null) ?? null,
    summary: r.summary ? (JSON.parse(r.summary as string) as Record<string, unknown>) : null,
    message: (r.message as string | null) ?? null,
  };
}
