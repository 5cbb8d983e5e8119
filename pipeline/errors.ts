/**
 * Errors that reach the user carry a stable `code` and the context needed to act on them. The exit code of every
 * command is decided here, from that code, and nowhere else (the README's table is this one):
 *
 * | exit | meaning |
 * | 0    | every row uploaded or already unchanged in Alipay |
 * | 1    | finished, with rows rejected or failed (or an empty input file) |
 * | 2    | usage, configuration or I/O problem: found before sending, or an output that failed mid-run |
 * | 3    | aborted by the gateway: credentials, signature, forged or unverifiable answers |
 * | 4    | stopped because the gateway's quota is spent |
 * | 70   | internal error: a bug |
 * | 130  | interrupted (Ctrl-C, SIGTERM) after the requests in flight were settled |
 */
export const EXIT = {
  OK: 0,
  ROWS: 1,
  USAGE: 2,
  GATEWAY: 3,
  QUOTA: 4,
  INTERNAL: 70,
  INTERRUPTED: 130,
} as const;

export type SyncErrorCode =
  | 'SYNC_CONFIG_INVALID'
  | 'SYNC_KEY_INVALID'
  | 'SYNC_LEDGER_BUSY'
  | 'SYNC_LEDGER'
  | 'SYNC_LEDGER_TARGET'
  | 'SYNC_LEDGER_KEY'
  | 'SYNC_OUTPUT'
  | 'SYNC_SOURCE_HEADER'
  | 'SYNC_SOURCE_READ'
  | 'SYNC_SOURCE_PARSE'
  | 'SYNC_GATEWAY_SIGNATURE'
  | 'SYNC_GATEWAY_REFUSED'
  | 'SYNC_GATEWAY_RESPONSE'
  | 'SYNC_QUOTA_SPENT'
  | 'SYNC_INTERRUPTED';

/**
 * Where an error points: every layer's errors (SyncError here, SourceError in sources/, LedgerError in state/)
 * have this one shape — a stable `code`, a message, and these fields at the top level — so the CLI and the
 * JSON output read them the same way whichever layer threw.
 */
export interface ErrorContext {
  file?: string;
  line?: number;
  field?: string;
  key?: string;
  attempt?: number;
  subCode?: string;
}

// The class gets the context fields by declaration merging (set by Object.assign below), not by repeating them.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface SyncError extends ErrorContext {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class SyncError extends Error {
  readonly code: SyncErrorCode;
  constructor(code: SyncErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SyncError';
    this.code = code;
    Object.assign(this, context);
  }
}

/** The error fields a machine reads (--json): code, message, and where it points. */
export function errorFields(err: unknown): { code: string; message: string } & ErrorContext {
  const e = err as Partial<SyncError> & { message?: string };
  const out: { code: string; message: string } & ErrorContext = { code: typeof e?.code === 'string' ? e.code : 'SYNC_INTERNAL', message: String(e?.message ?? err) };
  for (const k of ['file', 'line', 'field', 'key', 'attempt', 'subCode'] as const) {
    const v = e?.[k];
    if (v !== undefined) Object.assign(out, { [k]: v });
  }
  return out;
}

/** Codes that mean "bad usage, configuration or I/O" (exit 2); the ledger's and the sources' codes included. */
const USAGE_CODES = new Set<string>([
  'SYNC_CONFIG_INVALID',
  'SYNC_KEY_INVALID',
  'SYNC_LEDGER_BUSY',
  'SYNC_LEDGER',
  'SYNC_LEDGER_TARGET',
  'SYNC_LEDGER_KEY',
  'SYNC_OUTPUT',
  'SYNC_SOURCE_HEADER',
  'SYNC_SOURCE_READ',
  'SYNC_SOURCE_PARSE',
]);

/** An error we expect and explain (a code of ours); anything else is a bug. */
export function isExpected(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SYNC_');
}

export function exitCodeFor(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SYNC_')) return EXIT.INTERNAL;
  if (USAGE_CODES.has(code)) return EXIT.USAGE;
  if (code === 'SYNC_INTERRUPTED') return EXIT.INTERRUPTED;
  if (code === 'SYNC_QUOTA_SPENT') return EXIT.QUOTA;
  if (code.startsWith('SYNC_GATEWAY')) return EXIT.GATEWAY;
  return EXIT.INTERNAL;
}
