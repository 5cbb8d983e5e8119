import type { AgreementHistoryEntry, AgreementRow, RunInfo, RunSettings } from './model.js';

/** Rows as the port's values, whichever adapter read them (the column names are the same in both). */

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
    // (a ledger of an older version read without migrating has no such column)
    settings: typeof r.settings === 'string' ? (JSON.parse(r.settings) as RunSettings) : null,
  };
}

/** A row of `agreements` and its history as AgreementRow, whichever adapter read them. */
export function toAgreementRow(r: Record<string, unknown>, history: AgreementHistoryEntry[]): AgreementRow {
  const text = (k: string) => (r[k] as string | null | undefined) ?? null;
  return {
    agreement_no: r.agreement_no as string, status: r.status as string, alipay_user_id: text('alipay_user_id'),
    alipay_open_id: text('alipay_open_id'), principal_open_id: text('principal_open_id'),
    personal_product_code: text('personal_product_code'), sign_scene: text('sign_scene'),
    fields: JSON.parse(r.fields as string) as Record<string, unknown>, source: r.source as string, history,
    since: text('state_since'), told: text('state_told'),
  };
}
