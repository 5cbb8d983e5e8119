/**
 * What every dataset module provides: its field table (the seed's 请求参数 table as data), the rules that turn
 * one CSV row into an upload (business key, snapshot, biz_content), and what its method's answers mean (the
 * page's 业务错误码 table as data). The pipeline only talks to datasets through this interface, so adding a
 * dataset is one module here and one line in index.ts.
 */

/**
 * A value check: the reason a non-empty, trimmed value is wrong, or null. `rule` says in a few words what it
 * accepts, for the per-dataset help (`upload <dataset> --help`); reusable checks carry their own.
 */
export type Check = ((value: string) => string | null) & { rule?: string };

export interface FieldSpec {
  name: string;            // API field name, also the CSV header name
  required: boolean;
  maxLength: number;       // in characters (Unicode code points), NOT bytes
  /** extra check on a non-empty, trimmed value; returns a human reason or null when valid */
  check?: Check;
  /** what the field accepts, for help, when its check does not say (or says less) */
  rule?: string;
  personal?: boolean;      // personal data: never shown in clear
}

export interface FieldError { field: string; reason: string }

export interface ValidRow {
  key: string;
  snapshot: string;
  bizContent: string;
  /** the key holds personal data (a logon id): the ledger stores a keyed hash of it, never the key in clear */
  personalKey?: boolean;
}

export type Validation = { ok: true; row: ValidRow } | { ok: false; errors: FieldError[] };

export interface HeaderCheck { missing: string[]; unknown: string[] }

/**
 * What one method's answers mean beyond the common protocol (the gateway codes, 40002's sub_codes, and
 * `SYSTEM_ERROR`, which is always transient: pipeline/alipay/classify.ts knows those). Data only, read by the
 * classifier; every sub_code is compared after any `xxx.` prefix (`ACQ.SYSTEM_ERROR` is `SYSTEM_ERROR`).
 */
export interface AnswerRules {
  /** business sub_codes, besides SYSTEM_ERROR, that mean "try again" */
  transientSubCodes?: readonly string[];
  /**
   * business sub_codes whose answer leaves the row's real state unclear, each with the reason: the outcome is
   * `reconcile`, and the caller reads the row's state back before recording it
   */
  reconcileSubCodes?: Readonly<Record<string, string>>;
  /** extra success test on a verified 10000 answer (e.g. `biz_success`): a reason when it is a row failure */
  rowFailure?: (fields: Record<string, unknown>) => string | null;
  /** what each business sub_code (code 40004) means, shown in status and errors: the page's 业务错误码 table */
  meanings: Readonly<Record<string, string>>;
}

/** A gateway method this tool calls, with what its answers mean. */
export interface GatewayMethod {
  method: string;               // gateway method, e.g. 'zhima.merchant.borrow.entity.upload'
  answers: AnswerRules;
}

export type SendPolicy = 'snapshot' | 'once' | 'always';

export interface Dataset extends GatewayMethod {
  name: string;                 // CLI name, e.g. 'borrow-entities'
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
   * Versions before 0.2.1 stored every key of this dataset as a keyed hash (`h:…`), not only the personal ones
   * (ValidRow.personalKey): a key now kept in clear is adopted from its hashed form where a ledger holds that.
   */
  hashedKeysBefore?: boolean;
  /** cells made safe to show (personal fields masked); used for rejects files and messages */
  safeCells(cells: Readonly<Record<string, string>>): Record<string, string>;
  /** rules between fields (which ones name a row), for the per-dataset help */
  notes?: readonly string[];
}
