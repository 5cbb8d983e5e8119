/**
 * What `alipay-sync rows` reads (LedgerRows in state/port.ts): rows by state and filter, and one key's story.
 * Plain values, the same for every adapter. Nothing here is masked: the ledger keeps no personal value in clear
 * but the request bodies of rows still to send, and whoever shows a body masks it (the dataset knows its fields).
 */
import type { RecordStatus } from './model.js';

/**
 * The state of a row as `rows` lists it: a key's record (pending, uploaded, failed), or a line a run read and did
 * not stage: rejected (invalid, with its reason; it has no key) or superseded (a newer snapshot of its key won).
 */
export type RowState = RecordStatus | 'rejected' | 'superseded';

export const ROW_STATES: readonly RowState[] = ['pending', 'uploaded', 'failed', 'rejected', 'superseded'];

/**
 * Which rows to list; every field narrows (absent: any). A filter that a kind of row cannot match (a sub_code for
 * rejected lines, a key for them) leaves that kind out.
 *
 * Issue 13 adds a merchant to every key: its filter is one more field here and one more entry in the adapter's
 * table of filter columns (state/sqlite/rows.ts, FILTERS), nothing else.
 */
export interface RowFilter {
  /** default: every state */
  statuses?: readonly RowState[];
  dataset?: string;
  /** rows this run staged or last sent (records), or read (rejected, superseded) */
  run?: number;
  /** the input file, as named in the run, or by its trailing part (`points.csv` matches `/data/points.csv`) */
  file?: string;
  /** the last answer's sub_code, else its code (`status` groups failures the same way) */
  subCode?: string;
  key?: string;
}

/** One row as listed: the same columns whatever its state (empty where the state has none). */
export interface RowView {
  state: RowState;
  dataset: string;
  /** null for a rejected line (an invalid row has no key) */
  key: string | null;
  snapshot: string | null;
  file: string | null;
  line: number | null;
  /** the run that staged it (records), or that read it (rejected, superseded) */
  run_id: number;
  /** the run that last sent it */
  last_run_id: number | null;
  attempts: number | null;
  code: string | null;
  sub_code: string | null;
  /** why: Alipay's answer (masked), the rejection's field and reason, or the snapshot that won */
  reason: string | null;
  trace_id: string | null;
  /** the snapshot Alipay holds (as far as the ledger knows), and since when */
  uploaded_snapshot: string | null;
  uploaded_at: string | null;
  /** failed only because of gateway trouble (retried by itself), as opposed to refused for its content */
  retryable: boolean | null;
  /** the request body is still in the ledger: `retry` can send it without reading the file */
  body_kept: boolean | null;
  updated_at: string | null;
}

/** The column order of a listed row (csv, table). */
export const ROW_COLUMNS: readonly (keyof RowView)[] = [
  'state', 'dataset', 'key', 'snapshot', 'file', 'line', 'run_id', 'last_run_id', 'attempts', 'code', 'sub_code', 'reason',
  'trace_id', 'uploaded_snapshot', 'uploaded_at', 'retryable', 'body_kept', 'updated_at',
];

/** One attempt at sending a key that did not simply succeed the first time (the attempts table is the history of trouble). */
export interface AttemptView {
  run_id: number;
  attempt: number;
  at: string;
  /** success, transient, row-fatal, run-fatal, reconcile */
  kind: string;
  code: string | null;
  sub_code: string | null;
  duration_ms: number | null;
  trace_id: string | null;
  /** the snapshot that was sent (null for attempts recorded before ledgers kept it) */
  snapshot: string | null;
}

/** A line of an input file that lost to a newer snapshot of the key (never sent). */
export interface SupersededView {
  run_id: number;
  snapshot: string;
  file: string | null;
  line: number | null;
  kept_snapshot: string;
}

/** Everything the ledger knows of one key in one dataset. */
export interface KeyStory {
  dataset: string;
  key: string;
  /** its current state: the record */
  current: RowView;
  /** the request body still kept (pending, or failed and not personal), unmasked: the caller masks it */
  body: string | null;
  /** answer fields kept with the row (already free of personal data) */
  result: string | null;
  attempts: AttemptView[];
  superseded: SupersededView[];
}

/** What `retry` revived, and the files of the failed rows it could not (no body kept: personal data). */
export interface FailedRevived {
  revived: number;
  withoutBody: { file: string | null; rows: number }[];
}
