import type { RecordStatus, RowFilter } from './model.js';

/**
 * `alipay-sync rows`' filters as data, for both adapters: FILTERS says which column of each table (records,
 * rejects, superseded) a filter field compares, and a table without one for a field that is set is left out (a
 * rejected line has no key and no sub_code). Conditions use `?` for values (SQLite's; the PostgreSQL adapter
 * numbers them) and SQL both dialects read alike.
 */
export type Table = 'records' | 'rejects' | 'superseded';
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
export function where(table: Table, filter: RowFilter): { sql: string; params: unknown[] } | null {
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
  return { sql: parts.length ? parts.join(' AND ') : 'TRUE', params };
}

/** The records' WHERE clause for a filter (statuses among pending/uploaded/failed); also used by reviveFailed. */
export function recordsWhere(filter: RowFilter): { sql: string; params: unknown[] } {
  const w = where('records', filter) ?? { sql: 'FALSE', params: [] };
  const statuses = (filter.statuses ?? ['pending', 'uploaded', 'failed']).filter((s): s is RecordStatus => s !== 'rejected' && s !== 'superseded');
  if (statuses.length === 0) return { sql: 'FALSE', params: [] };
  return { sql: `${w.sql} AND status IN (${statuses.map(() => '?').join(', ')})`, params: [...w.params, ...statuses] };
}

