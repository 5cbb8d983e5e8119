import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { LedgerError } from './errors.js';

/**
 * The ledger's hash secret, kept only wrapped. Keyed hashes (content hashes, hashed logon ids) are only as
 * private as their secret: stored in clear in the same file, a stolen ledger's hashed logon ids could be
 * brute-forced from the phone-number space in minutes. So the secret is stored under AES-256-GCM with a key
 * derived from key material the user keeps apart from the ledger (the app private key), and GCM's tag tells a
 * wrong key from the right one.
 */

export const SECRET_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Shorter key material would be guessable; an app private key's DER bytes are a thousand and more. */
export const MIN_HASH_KEY_BYTES = 16;

/** HKDF-SHA256 of the key material; salt and info name the purpose, so the same key yields unrelated keys elsewhere. */
function wrapKey(hashKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', hashKey, 'alipay-sync/ledger', 'hash-secret-wrap/v1', 32));
}

export function newSecret(): Buffer {
  return randomBytes(SECRET_BYTES);
}

/** base64(iv 12 | tag 16 | ciphertext), with a fresh random iv each time. */
export function wrapSecret(secret: Buffer, hashKey: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', wrapKey(hashKey), iv);
  const ct = Buffer.concat([cipher.update(secret), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64');
}

/**
 * The secret, or 'wrong-key' when the tag does not verify (another key wrapped it), or 'malformed' when the
 * stored text cannot be a wrapped secret at all. Never throws: the caller words the error, and no message
 * may carry key material.
 */
export function unwrapSecret(wrapped: string, hashKey: Buffer): Buffer | 'wrong-key' | 'malformed' {
  const bytes = Buffer.from(wrapped, 'base64');
  if (bytes.length !== IV_BYTES + TAG_BYTES + SECRET_BYTES) return 'malformed';
  try {
    const decipher = createDecipheriv('aes-256-gcm', wrapKey(hashKey), bytes.subarray(0, IV_BYTES));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    return 'wrong-key';
  }
}

/** What a ledger's open does with the stored wrapped secret (see decideSecret). */
export interface SecretDecision {
  secret: Buffer | null;
  source: 'unwrapped' | 'created' | 'rebound' | 'rebound-in-memory' | null;
  /** wrapped text to store (a secret made now) */
  store?: string;
}

/**
 * The secret rule, the same for every adapter: the stored wrapped secret unwraps with the key (`unwrapped`); it
 * does not, and `rebind` starts afresh with a new one (`rebound`; a dry run keeps it in memory only), else the
 * open is refused (SYNC_LEDGER_KEY); none stored yet, a new one is made (`created`; read-only: none).
 */
export function decideSecret(
  wrapped: string | undefined, key: Buffer, o: { rebind?: boolean; dryRun?: boolean; readonly: boolean; where: string },
): SecretDecision {
  if (wrapped !== undefined) {
    const got = unwrapSecret(wrapped, key);
    if (Buffer.isBuffer(got)) return { secret: got, source: 'unwrapped' };
    if (!o.rebind || o.readonly) {
      throw got === 'wrong-key'
        ? new LedgerError(
          'SYNC_LEDGER_KEY',
          `ledger ${o.where} was written with another app private key: its content hashes cannot be checked with this one. ` +
            'Use the key it was written with, or pass --rebind-ledger to start comparing afresh (every row then counts as changed and is sent once more)',
        )
        : new LedgerError('SYNC_LEDGER', `ledger ${o.where}: its stored hash secret is damaged; pass --rebind-ledger to start comparing afresh (every row then counts as changed and is sent once more)`);
    }
    const fresh = newSecret();
    if (o.dryRun) return { secret: fresh, source: 'rebound-in-memory' };
    return { secret: fresh, source: 'rebound', store: wrapSecret(fresh, key) };
  }
  if (o.readonly) return { secret: null, source: null };
  const fresh = newSecret();
  return { secret: fresh, source: 'created', store: wrapSecret(fresh, key) };
}
