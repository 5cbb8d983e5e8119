/**
 * What every dataset module provides: its field table (the seed's 请求参数 table as data) and the
 * rules that turn one CSV row into an upload (business key, snapshot, biz_content). The pipeline
 * only talks to datasets through this interface, so adding a dataset touches nothing else.
 */

export interface FieldSpec {
  name: string;            // API field name, also the CSV header name
  required: boolean;
  maxLength: number;       // in characters (Unicode code points), NOT bytes
  /** extra check on a non-empty, trimmed value; returns a human reason or null when valid */
  check?: (value: string) => string | null;
  personal?: boolean;      // personal data: never shown in clear
}

export interface FieldError { field: string; reason: string }

export interface ValidRow { key: string; snapshot: string; bizContent: string }

export type Validation = { ok: true; row: ValidRow } | { ok: false; errors: FieldError[] };

export interface HeaderCheck { missing: string[]; unknown: string[] }

export type SendPolicy = 'snapshot' | 'once' | 'always';

export interface Dataset {
  name: string;                 // CLI name, e.g. 'borrow-entities'
  method: string;               // gateway method, e.g. 'zhima.merchant.borrow.entity.upload'
  fields: readonly FieldSpec[]; // in the seed table's order
  /** header check: required columns that are missing (a column with a default is not required), and unknown columns */
  checkHeader(columns: readonly string[]): HeaderCheck;
  /** validate one row's cells (keyed by header name); on success build key, snapshot and the biz_content JSON text */
  validate(cells: Readonly<Record<string, string>>): Validation;
  /**
   * When a row is sent again (default 'snapshot'): 'snapshot', when its snapshot is newer or its content
   * changed since the upload; 'once', never once uploaded (an agreement made effective stays so); 'always',
   * every run (a query asks again each time).
   */
  sendPolicy?: SendPolicy;
  /**
   * The key can hold personal data (a logon id): the ledger then stores a keyed hash of it instead, and
   * messages name such a row by file and line.
   */
  personalKey?: boolean;
  /** cells made safe to show (personal fields masked); used for rejects files and messages */
  safeCells(cells: Readonly<Record<string, string>>): Record<string, string>;
}
