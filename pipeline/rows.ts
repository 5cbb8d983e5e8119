import { agreementDatasets, datasets } from '../sources/index.js';
import type { Dataset } from '../sources/dataset.js';
import { Ledger, ROW_COLUMNS, SCHEMA_VERSION, type KeyStory, type RowFilter, type RowView } from '../state/ledger.js';
import { describeLocation, isPostgresLocation, openLedger, type AnyLedger } from '../state/open-ledger.js';
import { BOM, csvRow } from './csv-writer.js';
import { SyncError } from './errors.js';
import { displayWidth, fitLayout, type Column } from './table.js';

/**
 * `alipay-sync rows`: the ledger's rows by state and filter, as a table, CSV or JSON Lines, streamed from the
 * ledger's iterator to the output one row at a time (waiting when the output asks), so a million rows take the
 * memory of one; and `--key`, one key's whole story. Nothing is held but the first rows of a table (to size its
 * columns).
 */

export type RowsFormat = 'table' | 'csv' | 'jsonl';

/** Where the rows go: stdout in the CLI. `write` false means "wait for drain"; `closed` a reader that left (`| head`). */
export interface RowsOut {
  write(text: string): boolean;
  drain(): Promise<void>;
  closed(): boolean;
  /** a terminal's width: the table is fitted to it (the reason cut, columns left out); absent in a pipe or a file */
  width?: number;
}

export interface RowsOptions {
  ledgerPath: string;
  /** PostgreSQL: the schema (default alipay_sync) */
  schema?: string;
  filter: RowFilter;
  format: RowsFormat;
  /** csv: start with a UTF-8 BOM (default true) */
  bom?: boolean;
  out: RowsOut;
  /** a note for a person (no rows, what a filter left out): stderr in the CLI */
  note(text: string): void;
}

/** Every dataset a ledger can hold rows of, by the name the ledger uses. */
export const LEDGER_DATASETS: Readonly<Record<string, Dataset>> = Object.fromEntries(
  [...Object.values(datasets), ...Object.values(agreementDatasets)].map((d) => [d.name, d]),
);

/**
 * The ledger, read only, unless it was written by an older alipay-sync: then its schema is brought up to date
 * first (what any run of this version would do), since the rows' columns are new.
 */
export async function openForReading(path: string, schema?: string): Promise<AnyLedger> {
  // (a PostgreSQL ledger must exist; an older schema is migrated as a run would)
  if (isPostgresLocation(path)) return openLedger(path, { schema, mustExist: true });
  const seen = Ledger.inspect(path);
  return new Ledger(path, { readonly: seen.kind === 'ledger' && seen.schemaVersion >= SCHEMA_VERSION });
}

/** The ledger as a note names it (a PostgreSQL URL without its password). */
function nameOf(o: { ledgerPath: string; schema?: string | undefined }): string {
  return isPostgresLocation(o.ledgerPath) ? describeLocation(o.ledgerPath, o.schema ?? 'alipay_sync') : o.ledgerPath;
}

/** SQLite's iterator, or PostgreSQL's page reader: the writers await each step (a plain value for SQLite). */
type RowIterator = Iterator<RowView> | AsyncIterator<RowView>;

/**
 * List the rows a filter names; returns how many were written. The ledger's iterator is closed before the ledger
 * (better-sqlite3 refuses every other statement, and close, on a connection while an iterator is open), however
 * the listing ends: all rows written, or a reader that left (`| head`) after any row or in the middle of the
 * first ones a table reads to size its columns. "No rows match" is said only when the filter matched nothing,
 * never because the reader left.
 */
export async function printRows(o: RowsOptions): Promise<number> {
  const ledger = await openForReading(o.ledgerPath, o.schema);
  const rows: RowIterator = ledger.rows(o.filter);
  try {
    const listed = o.format === 'table' ? await writeTable(rows, o.out) : await writeLines(rows, o.format, o.bom !== false, o.out);
    if (listed.matched === 0) o.note(`no rows in ${nameOf(o)} match`);
    return listed.written;
  } finally {
    await rows.return?.();
    await ledger.close();
  }
}

/** What a writer did: rows written, and rows the filter matched (null when the reader left before the end). */
interface Listed {
  written: number;
  matched: number | null;
}

async function put(out: RowsOut, text: string): Promise<boolean> {
  if (out.closed()) return false;
  if (!out.write(text)) await out.drain();
  return !out.closed();
}

function cellText(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);
}

async function writeLines(rows: RowIterator, format: 'csv' | 'jsonl', bom: boolean, out: RowsOut): Promise<Listed> {
  let n = 0;
  if (format === 'csv' && !(await put(out, (bom ? BOM : '') + csvRow(ROW_COLUMNS as string[])))) return { written: 0, matched: null };
  for (let r = await rows.next(); !r.done; r = await rows.next()) {
    const text = format === 'csv' ? csvRow(ROW_COLUMNS.map((c) => cellText(r.value[c]))) : JSON.stringify(r.value) + '\n';
    if (!(await put(out, text))) return { written: n, matched: null };
    n++;
  }
  return { written: n, matched: n };
}

/**
 * The columns a person reads (`rows --format csv` and jsonl have them all, reasons in full); on a terminal the
 * reason is cut to fit, then columns are left out from the highest rank.
 */
const TABLE: readonly (Column & { cell: (r: RowView) => string })[] = [
  { title: 'state', rank: 0, cell: (r) => r.state + (r.state === 'failed' && r.retryable === false ? ' (refused)' : '') },
  { title: 'dataset', rank: 3, cell: (r) => r.dataset },
  { title: 'key', rank: 0, shrink: true, min: 24, cell: (r) => r.key ?? '' },
  { title: 'snapshot', rank: 4, cell: (r) => r.snapshot ?? '' },
  { title: 'file:line', rank: 1, shrink: true, min: 16, cell: (r) => (r.file ? `${r.file}:${r.line ?? ''}` : '') },
  { title: 'run', rank: 2, align: 'right', cell: (r) => String(r.last_run_id ?? r.run_id) },
  { title: 'sub_code', rank: 1, cell: (r) => r.sub_code ?? r.code ?? '' },
  { title: 'reason', rank: 0, shrink: true, min: 16, cell: (r) => (r.reason ?? '').replace(/\s+/g, ' ') },
];
/** rows read before the table's columns are sized; later rows keep those widths (a longer cell pushes its line) */
const SIZE_FROM = 200;

async function writeTable(it: RowIterator, out: RowsOut): Promise<Listed> {
  const first: string[][] = [];
  while (first.length < SIZE_FROM) {
    const r = await it.next();
    if (r.done) break;
    first.push(TABLE.map((c) => c.cell(r.value)));
  }
  if (first.length === 0) return { written: 0, matched: 0 };
  const widths = TABLE.map((c, i) => Math.max(displayWidth(c.title), ...first.map((cells) => displayWidth(cells[i]!))));
  const fitted = out.width !== undefined ? fitLayout(TABLE, first, out.width) : null;
  // in a pipe or a file: every column whole (a longer cell than the first rows' pushes its line)
  const line = fitted
    ? (cells: string[]) => fitted.line(cells) + '\n'
    : (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(Math.max(0, widths[i]! - displayWidth(c))))).join('  ').trimEnd() + '\n';
  if (!(await put(out, line(TABLE.map((c) => c.title))))) return { written: 0, matched: null };
  let n = 0;
  for (const cells of first) {
    if (!(await put(out, line(cells)))) return { written: n, matched: null };
    n++;
  }
  for (let r = await it.next(); !r.done; r = await it.next()) {
    if (!(await put(out, line(TABLE.map((c) => c.cell(r.value)))))) return { written: n, matched: null };
    n++;
  }
  return { written: n, matched: n };
}

/** A kept request body as it may be shown: the dataset's personal fields masked (or nothing, for a dataset unknown here). */
export function maskedBody(dataset: string, body: string | null): Record<string, string> | null {
  if (body === null) return null;
  const d = LEDGER_DATASETS[dataset];
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return null;
  }
  const cells = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  return d ? d.safeCells(cells) : Object.fromEntries(Object.keys(cells).map((k) => [k, '(not shown)']));
}

/** `rows --key K`: every dataset's story of the key; exit 1 when no dataset has it. */
export async function printKeyStory(o: Omit<RowsOptions, 'filter' | 'bom'> & { key: string; dataset?: string }): Promise<number> {
  if (o.format === 'csv') throw new SyncError('SYNC_CONFIG_INVALID', '--key shows one key\'s story: use --format table or jsonl');
  const ledger = await openForReading(o.ledgerPath, o.schema);
  try {
    const stories = await ledger.keyStory(o.key, o.dataset);
    if (stories.length === 0) {
      o.note(`no key ${o.key} in ${nameOf(o)}${o.dataset ? ` (dataset ${o.dataset})` : ''}; a key with personal data is stored hashed: list the rows to find its h:… form`);
      return 0;
    }
    for (const s of stories) {
      const shown = { ...s, body: maskedBody(s.dataset, s.body) };
      if (!(await put(o.out, o.format === 'jsonl' ? JSON.stringify(shown) + '\n' : storyText(s, shown.body)))) break;
    }
    return stories.length;
  } finally {
    await ledger.close();
  }
}

function storyText(s: KeyStory, body: Record<string, string> | null): string {
  const c = s.current;
  const lines = [`${s.dataset}  ${s.key}`];
  const why = c.state === 'failed' ? (c.retryable ? ' (gateway trouble: retried by the next run)' : ' (refused for its content: not sent again while unchanged)') : '';
  lines.push(`  now:        ${c.state}${why}, after ${c.attempts ?? 0} attempt(s)${c.last_run_id ? `, last sent by run ${c.last_run_id}` : ''}`);
  // (a reason built from a sub_code starts with it)
  const reason = c.reason && c.sub_code && c.reason.startsWith(`${c.sub_code}: `) ? c.reason.slice(c.sub_code.length + 2) : c.reason;
  if (c.code) lines.push(`  answer:     ${[c.code, c.sub_code].filter(Boolean).join(' ')}${reason ? `: ${reason}` : ''}${c.trace_id ? `  (trace_id ${c.trace_id})` : ''}`);
  lines.push(`  wanted:     snapshot ${c.snapshot || '(none: compared by content)'} from ${c.file ?? '?'}:${c.line ?? '?'} (read by run ${c.run_id})`);
  lines.push(`  Alipay has: ${c.uploaded_snapshot !== null ? `snapshot ${c.uploaded_snapshot || '(by content)'} since ${c.uploaded_at ?? '?'}` : 'nothing of ours yet'}`);
  lines.push(`  body:       ${body ? JSON.stringify(body) : c.state === 'uploaded' ? 'not kept once uploaded' : 'not kept (personal data, or an older row)'}`);
  if (s.result) lines.push(`  result:     ${s.result}`);
  if (s.attempts.length) {
    lines.push('  attempts (first-try successes are not listed: the record tells them):');
    for (const a of s.attempts) {
      lines.push(`    run ${a.run_id} #${a.attempt} ${a.at} ${a.kind} ${[a.code, a.sub_code].filter(Boolean).join(' ')}${a.duration_ms !== null ? ` ${a.duration_ms} ms` : ''}${a.snapshot !== null ? ` snapshot ${a.snapshot || '-'}` : ''}${a.trace_id ? ` trace_id ${a.trace_id}` : ''}`);
    }
  }
  if (s.superseded.length) {
    lines.push('  superseded lines (never sent):');
    for (const x of s.superseded) lines.push(`    run ${x.run_id} ${x.file ?? '?'}:${x.line ?? '?'} snapshot ${x.snapshot || '-'}, lost to ${x.kept_snapshot || '-'}`);
  }
  return lines.join('\n') + '\n';
}
