import type {
  AttemptView, KeyStory, LedgerRows, RecordStatus, RowFilter, RowState, RowView, SupersededView,
} from '../port.js';
import type { SqliteConnection } from './open.js';

/**
 * `alipay-sync rows`: rows by state and filter, streamed from SQLite iterators (a million rows in constant
 * memory: each row is read when the caller asks for it, nothing is collected), and one key's story.
 *
 * Three tables hold rows: records (one per key: pending, uploaded, failed), rejects (invalid lines) and
 * superseded (lines that lost to a newer snapshot). A filter is data: FILTERS says which column of each table a
 * filter field compares, and a table without one for a field that is set is left out (a rejected line has no
 * key and no sub_code).
 */

type Table = 'records' | 'rejects' | 'superseded';
type Field = Exclude<keyof RowFilter, 'statuses'>;

/** Per filter field, per table: the condition (with `?` for the value) and how many times it takes the value. */
const FILTERS: Readonly<Record<Field, Partial<Record<Table, { sql: string; uses: number }>>>> = {
  dataset: { records: { sql: 'dataset = ?', uses: 1 }, rejects: { sql: 'dataset = ?', uses: 1 }, superseded: { sql: 'dataset = ?', uses: 1 } },
  run: {
    records: { sql: '(run_id = ? OR last_run_id = ?)', uses: 2 },
    rejects: { sql: 'run_id = ?', uses: 1 },
    superseded: { sql: 'run_id = ?', uses: 1 },
  },
  file: {
    records: { sql: "(file = ? OR file LIKE ? ESCAPE '\\')", uses: 2 },
    rejects: { sql: "(file = ? OR file LIKE ? ESCAPE '\\')", uses: 2 },
    superseded: { sql: "(file = ? OR file LIKE ? ESCAPE '\\')", uses: 2 },
  },
  subCode: { records: { sql: "COALESCE(last_sub_code, last_code, 'unknown') = ?", uses: 1 } },
  key: { records: { sql: 'key = ?', uses: 1 }, superseded: { sql: 'key = ?', uses: 1 } },
  // merchant (issue 13): { records: { sql: 'merchant = ?', uses: 1 }, rejects: …, superseded: … }
};

/** `points.csv` also matches `/data/points.csv`: the trailing part after a '/', with LIKE's wildcards escaped. */
function fileValues(file: string): unknown[] {
  return [file, '%/' + file.replace(/[\\%_]/g, (c) => '\\' + c)];
}

/** The WHERE clause of a filter on one table, or null when the table cannot match it. */
function where(table: Table, filter: RowFilter): { sql: string; params: unknown[] } | null {
  const parts: string[] = [];
  const params: unknown[] = [];
  for (const field of Object.keys(FILTERS) as Field[]) {
    const value = filter[field];
    if (value === undefined) continue;
    const f = FILTERS[field][table];
    if (!f) return null;
    parts.push(f.sql);
    if (field === 'file') params.push(...fileValues(String(value)));
    else for (let i = 0; i < f.uses; i++) params.push(value);
  }
  return { sql: parts.length ? parts.join(' AND ') : '1', params };
}

/** The records' WHERE clause for a filter (statuses among pending/uploaded/failed); also used by reviveFailed. */
export function recordsWhere(filter: RowFilter): { sql: string; params: unknown[] } {
  const w = where('records', filter) ?? { sql: '0', params: [] };
  const statuses = (filter.statuses ?? ['pending', 'uploaded', 'failed']).filter((s): s is RecordStatus => s !== 'rejected' && s !== 'superseded');
  if (statuses.length === 0) return { sql: '0', params: [] };
  return { sql: `${w.sql} AND status IN (${statuses.map(() => '?').join(', ')})`, params: [...w.params, ...statuses] };
}

const RECORD_COLUMNS = `status AS state, dataset, key, snapshot, file, line, run_id, last_run_id, attempts, last_code AS code,
  last_sub_code AS sub_code, COALESCE(last_reason, last_sub_msg) AS reason, last_trace_id AS trace_id, uploaded_snapshot, uploaded_at,
  CASE WHEN status = 'failed' THEN retryable END AS retryable, CASE WHEN status <> 'uploaded' THEN biz_content IS NOT NULL END AS body_kept, updated_at`;
const REJECT_COLUMNS = `'rejected' AS state, dataset, NULL AS key, NULL AS snapshot, file, line, run_id, NULL AS last_run_id, NULL AS attempts,
  NULL AS code, NULL AS sub_code, CASE WHEN field = '' THEN reason ELSE field || ': ' || reason END AS reason, NULL AS trace_id,
  NULL AS uploaded_snapshot, NULL AS uploaded_at, NULL AS retryable, NULL AS body_kept, NULL AS updated_at`;
const SUPERSEDED_COLUMNS = `'superseded' AS state, dataset, key, snapshot, file, line, run_id, NULL AS last_run_id, NULL AS attempts,
  NULL AS code, NULL AS sub_code, 'superseded by snapshot ' || kept_snapshot AS reason, NULL AS trace_id, NULL AS uploaded_snapshot,
  NULL AS uploaded_at, NULL AS retryable, NULL AS body_kept, NULL AS updated_at`;

type RawRow = Omit<RowView, 'retryable' | 'body_kept'> & { retryable: number | null; body_kept: number | null };

function view(r: RawRow): RowView {
  return { ...r, retryable: r.retryable === null ? null : r.retryable === 1, body_kept: r.body_kept === null ? null : r.body_kept === 1 };
}

export class SqliteRows implements LedgerRows {
  constructor(private readonly conn: SqliteConnection) {}

  /**
   * The rows a filter names: records (in staging order), then rejected lines, then superseded ones, each read
   * from its own SQLite iterator as the caller consumes it.
   */
  *rows(filter: RowFilter = {}): IterableIterator<RowView> {
    const wanted = new Set<RowState>(filter.statuses ?? ['pending', 'uploaded', 'failed', 'rejected', 'superseded']);
    const db = this.conn.db;
    if (wanted.has('pending') || wanted.has('uploaded') || wanted.has('failed')) {
      const w = recordsWhere(filter);
      for (const r of db.prepare(`SELECT ${RECORD_COLUMNS} FROM records WHERE ${w.sql} ORDER BY rowid`).iterate(...w.params)) yield view(r as RawRow);
    }
    for (const [state, table, columns] of [['rejected', 'rejects', REJECT_COLUMNS], ['superseded', 'superseded', SUPERSEDED_COLUMNS]] as const) {
      if (!wanted.has(state)) continue;
      const w = where(table, filter);
      if (!w) continue;
      for (const r of db.prepare(`SELECT ${columns} FROM ${table} WHERE ${w.sql} ORDER BY id`).iterate(...w.params)) yield view(r as RawRow);
    }
  }

  /**
   * Everything the ledger holds of a key: in one dataset, or in every dataset that has it (the primary key is
   * (dataset, key), so each is one indexed lookup; the datasets are the runs'). Empty when no dataset has it.
   */
  keyStory(key: string, dataset?: string): KeyStory[] {
    const db = this.conn.db;
    const datasets = dataset !== undefined
      ? [dataset]
      : (db.prepare('SELECT DISTINCT dataset FROM runs ORDER BY dataset').pluck().all() as string[]);
    const stories: KeyStory[] = [];
    for (const ds of datasets) {
      const rec = db.prepare(`SELECT ${RECORD_COLUMNS}, biz_content, result FROM records WHERE dataset = ? AND key = ?`).get(ds, key) as
        | (RawRow & { biz_content: string | null; result: string | null })
        | undefined;
      // (a key whose record was dropped, e.g. an abandoned export's question, has no story left to tell)
      if (!rec) continue;
      const superseded = db
        .prepare('SELECT run_id, snapshot, file, line, kept_snapshot FROM superseded WHERE dataset = ? AND key = ? ORDER BY id')
        .all(ds, key) as SupersededView[];
      const attempts = db
        .prepare('SELECT run_id, attempt, at, kind, code, sub_code, duration_ms, trace_id, snapshot FROM attempts WHERE dataset = ? AND key = ? ORDER BY id')
        .all(ds, key) as AttemptView[];
      const { biz_content: body, result, ...current } = rec;
      stories.push({ dataset: ds, key, current: view(current), body, result, attempts, superseded });
    }
    return stories;
  }
}
