import { hash as oneShotHash } from 'node:crypto';
import { LedgerError } from './errors.js';

/** The ledger's keyed content hash, with the secret found at open (or none: then hash() refuses). */
export class KeyedHash {
  /** the secret as the prefix of every hashed text */
  private readonly secretText: string | null;

  constructor(
    private readonly secret: Buffer | null,
    private readonly where: string,
  ) {
    this.secretText = secret ? secret.toString('base64') + '\u0000' : null;
  }

  /** A copy of the unwrapped secret (for the staging thread's connection); never print it. */
  get secretCopy(): Buffer | null {
    return this.secret ? Buffer.from(this.secret) : null;
  }

  /**
   * SHA-256 over the ledger's secret and the text, first 128 bits as base64url text. Without the secret (never
   * printed) nobody can test a guessed ID number or phone against it. One-shot hashing to text: a new Hmac
   * object per row, or a Buffer digest, cost more than the rest of the row's staging.
   */
  hash(text: string): string {
    if (this.secretText === null) {
      throw new LedgerError(
        'SYNC_LEDGER',
        `this ledger needs the app private key to compare content: ledger ${this.where} keeps the secret of its hashes wrapped under that key`,
      );
    }
    return oneShotHash('sha256', this.secretText + text, 'base64url').slice(0, 22);
  }
}
