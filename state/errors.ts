/**
 * The ledger's error codes:
 * - SYNC_LEDGER: cannot open or use the ledger (including a ledger opened without the app private key, asked to hash);
 * - SYNC_LEDGER_BUSY: another run holds it;
 * - SYNC_LEDGER_KEY: it was written with another app private key (its keyed hashes cannot be checked);
 * - SYNC_LEDGER_TARGET: it records what was sent to another gateway, app or merchant.
 */
export type LedgerErrorCode = 'SYNC_LEDGER' | 'SYNC_LEDGER_BUSY' | 'SYNC_LEDGER_KEY' | 'SYNC_LEDGER_TARGET';

/** Ledger errors carry a stable code, like every error that reaches the user (design.md, Conventions). */
export class LedgerError extends Error {
  readonly code: LedgerErrorCode;
  constructor(code: LedgerErrorCode, message: string) {
    super(message);
    this.name = 'LedgerError';
    this.code = code;
  }
}
