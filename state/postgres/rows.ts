import type { AttemptView, KeyStory, LedgerRows, RowFilter, RowState, RowView, SupersededView } from '../port.js';
import { recordsWhere, where } from '../rows-filter.js';
import { numbered, type PgConnection } from './connection.js';

/**
 * `alipay-sync rows` on a shared ledger: the same filters as SQLite's (state/rows-filter.ts), read in pages by
 * id (keyset: each page one indexed query, nothing held open between them) so a million rows stream in constant
 * memory, and one key's story.
 */
const PAGE = 1000;

const RECORD_COLUMNS = `id, status AS state, dataset, key, snapshot, file, line, run_id, last_run_id, attempts, last_code AS code,
  last_sub_code AS sub_code, COALESCE(last_reason, last_sub_msg) AS reason, last_trace_id AS trace_id, uploaded_snapshot, uploaded_at,
  CASE WHEN status = 'failed' THEN retryable END AS retryable, CASE WHEN status <> 'uploaded' THEN biz_content IS NOT NULL END AS body_kept, updated_at`;
const REJECT_COLUMNS = `id, 'rejected' AS state, dataset, NULL AS key, NULL AS snapshot, file, line, run_id, NULL::bigint AS last_run_id,
  NULL::int AS attempts, NULL AS code, NULL AS sub_code, CASE WHEN field = '' THEN reason ELSE field || ': ' || reason END AS reason,
  NULL AS trace_id, NULL AS uploaded_snapshot, NULL::timestamptz AS uploaded_at, NULL::boolean AS retryable, NULL::boolean AS body_kept,
  NULL::timestamptz AS updated_at`;
const SUPERSEDED_COLUMNS = `id, 'superseded' AS state, dataset, key, snapshot, file, line, run_id, NULL::bigint AS last_run_id,
  NULL::int AS attempts, NULL AS code, NULL AS sub_code, 'superseded by snapshot ' || kept_snapshot AS reason, NULL AS trace_id,
  NULL AS uploaded_snapshot, NULL::timestamptz AS uploaded_at, NULL::boolean AS retryable, NULL::boolean AS body_kept, NULL::timestamptz AS updated_at`;

function view(r: RowView & { id?: number }): RowView {
  const { id: _id, ...row } = r;
  return row;
}

export class PgRows implements LedgerRows<'async'> {
  constructor(private readonly c: PgConnection) {}

  /** Records (in staging order), then rejected lines, then superseded ones, a page at a time. */
  async *rows(filter: RowFilter = {}): AsyncIterableIterator<RowView> {
    const wanted = new Set<RowState>(filter.statuses ?? ['pending', 'uploaded', 'failed', 'rejected', 'superseded']);
    const sources: { table: string; columns: string; w: { sql: string; params: unknown[] } | null }[] = [];
    if (wanted.has('pending') || wanted.has('uploaded') || wanted.has('failed')) sources.push({ table: 'records', columns: RECORD_COLUMNS, w: recordsWhere(filter) });
    if (wanted.has('rejected')) sources.push({ table: 'rejects', columns: REJECT_COLUMNS, w: where('rejects', filter) });
    if (wanted.has('superseded')) sources.push({ table: 'superseded', columns: SUPERSEDED_COLUMNS, w: where('superseded', filter) });
    for (const { table, columns, w } of sources) {
      if (!w) continue;
      const n = w.params.length;
      for (let after = 0; ;) {
        const page = await this.c.query<RowView & { id: number }>(
          `SELECT ${columns} FROM ${table} WHERE ${numbered(w.sql)} AND id > $${n + 1} ORDER BY id LIMIT ${PAGE}`, [...w.params, after],
        );
        for (const r of page) yield view(r);
        if (page.length < PAGE) break;
        after = page[page.length - 1]!.id;
      }
    }
  }

  /** Everything the ledger holds of a key: in one dataset, or in every dataset the runs name. */
  async keyStory(key: string, dataset?: string): Promise<KeyStory[]> {
    const q = this.c.query;
    const datasets = dataset !== undefined ? [dataset] : (await q<{ dataset: string }>('SELECT DISTINCT dataset FROM runs ORDER BY dataset')).map((r) => r.dataset);
    const stories: KeyStory[] = [];
    for (const ds of datasets) {
      const [rec] = await q<RowView & { id: number; biz_content: string | null; result: string | null }>(
        `SELECT ${RECORD_COLUMNS}, biz_content, result FROM records WHERE dataset = $1 AND key = $2`, [ds, key],
      );
      if (!rec) continue;
      const superseded = await q<SupersededView>('SELECT run_id, snapshot, file, line, kept_snapshot FROM superseded WHERE dataset = $1 AND key = $2 ORDER BY id', [ds, key]);
      const attempts = await q<AttemptView>(
        'SELECT run_id, attempt, at, kind, code, sub_code, duration_ms, trace_id, snapshot FROM attempts WHERE dataset = $1 AND key = $2 ORDER BY id', [ds, key],
      );
      const { biz_content: body, result, ...current } = rec;
      stories.push({ dataset: ds, key, current: view(current), body, result, attempts, superseded });
    }
    return stories;
  }
}
