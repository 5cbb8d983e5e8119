import type Database from 'better-sqlite3';
import { LedgerError } from '../errors.js';
import { MIN_HASH_KEY_BYTES, SECRET_BYTES, decideSecret, wrapSecret } from '../hash-secret.js';
import type { SecretSource } from '../port.js';
import { REBOUND_CODE } from '../staging-rule.js';
import { MERCHANT_REBOUND_REASON, MERCHANT_UNKNOWN } from '../target-rule.js';
import { deleteMeta, getMeta, setMeta } from './meta.js';
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
    if (wrapped === undefined && clear !== undefined) {
      // Written by an older version: keep the same secret, so the hashes already stored stay comparable.
      const secret = Buffer.from(clear, 'base64');
      if (readonly) return { secret, source: 'unwrapped' };
      setMeta(db, 'hash_secret_wrapped', wrapSecret(secret, key));
      dropClear(); // secure_delete is on, and close() truncates the WAL: the clear copy leaves no trace
      return { secret, source: 'wrapped-legacy' };
    }
    const d = decideSecret(wrapped, key, { rebind: options.rebind, dryRun: options.dryRun, readonly, where: path });
    if (clear !== undefined && !readonly && d.source !== 'rebound-in-memory') dropClear(); // never both: the wrapped one is the truth
    if (d.store !== undefined) setMeta(db, 'hash_secret_wrapped', d.store);
    if (d.source === 'rebound') {
      // The bound merchant was hashed with the old secret: it cannot be compared any more (see target-rule.ts).
      db.prepare("UPDATE meta SET value = ? WHERE key = 'target_merchant' AND value <> ''").run(MERCHANT_UNKNOWN);
      // So were the merchant ids in rows' keys: a merchant's rows still to send would never meet its token again.
      db.prepare(
        `UPDATE records SET status = 'failed', retryable = 0, biz_content = NULL, last_code = '${REBOUND_CODE}', last_sub_code = '${REBOUND_CODE}',
           last_reason = '${MERCHANT_REBOUND_REASON}'
         WHERE merchant <> '' AND (status = 'pending' OR (status = 'failed' AND retryable = 1))`,
      ).run();
    }
    return { secret: d.secret, source: d.source };
  };
  return readonly ? find() : db.transaction(find).immediate();
}

