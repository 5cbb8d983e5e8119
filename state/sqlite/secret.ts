import type Database from 'better-sqlite3';
import { hash as oneShotHash } from 'node:crypto';
import { LedgerError } from '../errors.js';
import { MIN_HASH_KEY_BYTES, SECRET_BYTES, newSecret, unwrapSecret, wrapSecret } from '../hash-secret.js';
import type { SecretSource } from '../port.js';
import { REBOUND_CODE } from '../staging-rule.js';
import { MERCHANT_UNKNOWN, deleteMeta, getMeta, setMeta } from './meta.js';
import type { LedgerOptions } from './open.js';

export interface FoundSecret {
  secret: Buffer | null;
  source: SecretSource;
}

/**
 * Find (or make) the hash secret. Content hashes are keyed so that a hash of personal data cannot be reversed
 * by guessing inputs; the secret is stored only wrapped (hash-secret.ts). Reading and writing it happen in one
 * BEGIN IMMEDIATE transaction, so two processes creating the same ledger end up with the same secret.
 */
export function resolveSecret(db: Database.Database, path: string, options: LedgerOptions, readonly: boolean): FoundSecret {
  if (options.hashSecret) {
    if (options.hashSecret.length !== SECRET_BYTES) throw new LedgerError('SYNC_LEDGER', `ledger ${path}: the hash secret passed in is not ${SECRET_BYTES} bytes`);
    return { secret: Buffer.from(options.hashSecret), source: 'passed' };
  }
  const key = options.hashKey;
  if (!key) return { secret: null, source: null };
  if (key.length < MIN_HASH_KEY_BYTES) throw new LedgerError('SYNC_LEDGER', `ledger ${path}: the key material for its hashes is shorter than ${MIN_HASH_KEY_BYTES} bytes`);
  const dropClear = () => deleteMeta(db, 'hash_secret');
  const find = (): FoundSecret => {
    const wrapped = getMeta(db, 'hash_secret_wrapped');
    const clear = getMeta(db, 'hash_secret');
    if (wrapped !== undefined) {
      const got = unwrapSecret(wrapped, key);
      if (Buffer.isBuffer(got)) {
        if (clear !== undefined && !readonly) dropClear(); // never both: the wrapped one is the truth
        return { secret: got, source: 'unwrapped' };
      }
      if (!options.rebind || readonly) {
        throw got === 'wrong-key'
          ? new LedgerError(
            'SYNC_LEDGER_KEY',
            `ledger ${path} was written with another app private key: its content hashes cannot be checked with this one. ` +
              'Use the key it was written with, or pass --rebind-ledger to start comparing afresh (every row then counts as changed and is sent once more)',
          )
          : new LedgerError('SYNC_LEDGER', `ledger ${path}: its stored hash secret is damaged; pass --rebind-ledger to start comparing afresh (every row then counts as changed and is sent once more)`);
      }
      const fresh = newSecret();
      if (options.dryRun) return { secret: fresh, source: 'rebound-in-memory' };
      setMeta(db, 'hash_secret_wrapped', wrapSecret(fresh, key));
      if (clear !== undefined) dropClear();
      // The bound merchant was hashed with the old secret: it cannot be compared any more (see target.ts).
      db.prepare("UPDATE meta SET value = ? WHERE key = 'target_merchant' AND value <> ''").run(MERCHANT_UNKNOWN);
      // So were the merchant ids in rows' keys: a merchant's rows still to send would never meet its token again.
      db.prepare(
        `UPDATE records SET status = 'failed', retryable = 0, biz_content = NULL, last_code = '${REBOUND_CODE}', last_sub_code = '${REBOUND_CODE}',
           last_reason = 'staged for a merchant under the replaced app private key: read its file again to send it'
         WHERE merchant <> '' AND (status = 'pending' OR (status = 'failed' AND retryable = 1))`,
      ).run();
      return { secret: fresh, source: 'rebound' };
    }
    if (clear !== undefined) {
      // Written by an older version: keep the same secret, so the hashes already stored stay comparable.
      const secret = Buffer.from(clear, 'base64');
      if (readonly) return { secret, source: 'unwrapped' };
      setMeta(db, 'hash_secret_wrapped', wrapSecret(secret, key));
      dropClear(); // secure_delete is on, and close() truncates the WAL: the clear copy leaves no trace
      return { secret, source: 'wrapped-legacy' };
    }
    if (readonly) return { secret: null, source: null };
    const fresh = newSecret();
    setMeta(db, 'hash_secret_wrapped', wrapSecret(fresh, key));
    return { secret: fresh, source: 'created' };
  };
  return readonly ? find() : db.transaction(find).immediate();
}

/** The ledger's keyed content hash, with the secret found at open (or none: then hash() refuses). */
export class KeyedHash {
  /** the secret as the prefix of every hashed text */
  private readonly secretText: string | null;

  constructor(
    private readonly secret: Buffer | null,
    private readonly path: string,
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
        `this ledger needs the app private key to compare content: ledger ${this.path} keeps the secret of its hashes wrapped under that key`,
      );
    }
    return oneShotHash('sha256', this.secretText + text, 'base64url').slice(0, 22);
  }
}
