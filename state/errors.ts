/** Ledger errors carry a stable code, like every error that reaches the user (design.md, Conventions). */
export class LedgerError extends Error {
  readonly code: 'SYNC_LEDGER' | 'SYNC_LEDGER_BUSY';
  constructor(code: 'SYNC_LEDGER' | 'SYNC_LEDGER_BUSY', message: string) {
    super(message);
    this.name = 'LedgerError';
    this.code = code;
  }
}
