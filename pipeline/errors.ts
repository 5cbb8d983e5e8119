/**
 * Errors that reach the user carry a stable `code` and the context needed to act on them.
 * The CLI maps codes to exit codes (see exitCodeFor) so every layer can throw without knowing about exit codes.
 */
export type SyncErrorCode =
  | 'SYNC_CONFIG_INVALID'
  | 'SYNC_KEY_INVALID'
  | 'SYNC_LEDGER_BUSY'
  | 'SYNC_LEDGER'
  | 'SYNC_SOURCE_HEADER'
  | 'SYNC_SOURCE_READ'
  | 'SYNC_SOURCE_PARSE'
  | 'SYNC_GATEWAY_SIGNATURE'
  | 'SYNC_GATEWAY_REFUSED'
  | 'SYNC_GATEWAY_RESPONSE'
  | 'SYNC_INTERRUPTED';

export interface ErrorContext {
  file?: string;
  line?: number;
  field?: string;
  key?: string;
  attempt?: number;
  subCode?: string;
}

export class SyncError extends Error {
  readonly code: SyncErrorCode;
  readonly context: ErrorContext;
  constructor(code: SyncErrorCode, message: string, context: ErrorContext = {}) {
    super(message);
    this.name = 'SyncError';
    this.code = code;
    this.context = context;
  }
}

/** Codes that mean "bad usage or configuration, nothing was sent" (exit 2). */
const USAGE_CODES = new Set<string>([
  'SYNC_CONFIG_INVALID',
  'SYNC_KEY_INVALID',
  'SYNC_LEDGER_BUSY',
  'SYNC_SOURCE_HEADER',
  'SYNC_SOURCE_READ',
]);

export function exitCodeFor(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && USAGE_CODES.has(code)) return 2;
  if (code === 'SYNC_INTERRUPTED') return 130;
  if (typeof code === 'string' && code.startsWith('SYNC_GATEWAY')) return 3;
  return 1;
}
