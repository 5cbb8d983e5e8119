import { LedgerError } from '../errors.js';
import { MIN_HASH_KEY_BYTES, decideSecret } from '../hash-secret.js';
import type { SecretSource } from '../port.js';
import { REBOUND_CODE } from '../staging-rule.js';
import { MERCHANT_REBOUND_REASON, MERCHANT_UNKNOWN } from '../target-rule.js';
import type { PgConnection } from './connection.js';
import { getMeta, holdSetupLock, setMeta } from './meta.js';

/**
 * Find (or make) the hash secret, by the rule every adapter shares (hash-secret.ts decideSecret), in one
 * transaction under the ledger's setup lock: several workers opening a new ledger at once get the same secret.
 */
export async function resolvePgSecret(c: PgConnection, key: Buffer | undefined, o: { rebind?: boolean; dryRun?: boolean }): Promise<{ secret: Buffer | null; source: SecretSource }> {
  if (!key) return { secret: null, source: null };
  if (key.length < MIN_HASH_KEY_BYTES) throw new LedgerError('SYNC_LEDGER', `ledger ${c.where}: the key material for its hashes is shorter than ${MIN_HASH_KEY_BYTES} bytes`);
  const decide = async (wrapped: string | undefined) => decideSecret(wrapped, key, { ...o, readonly: c.readonly, where: c.where });
  if (c.readonly) {
    const d = await decide(await getMeta(c.query, 'hash_secret_wrapped'));
    return { secret: d.secret, source: d.source };
  }
  return c.tx(async (q) => {
    await holdSetupLock(q, c.schema, 'secret');
    const d = await decide(await getMeta(q, 'hash_secret_wrapped'));
    if (d.store !== undefined) await setMeta(q, 'hash_secret_wrapped', d.store);
    if (d.source === 'rebound') {
      // The bound merchant was hashed with the old secret: it cannot be compared any more (see target-rule.ts).
      await q("UPDATE meta SET value = $1 WHERE key = 'target_merchant' AND value <> ''", [MERCHANT_UNKNOWN]);
      // So were the merchant ids in rows' keys: a merchant's rows still to send would never meet its token again.
      await q(
        `UPDATE records SET status = 'failed', retryable = false, biz_content = NULL, last_code = $1, last_sub_code = $1, last_reason = $2,
           claimed_by = NULL, claim_expires_at = NULL WHERE merchant <> '' AND (status = 'pending' OR (status = 'failed' AND retryable))`,
        [REBOUND_CODE, MERCHANT_REBOUND_REASON],
      );
    }
    return { secret: d.secret, source: d.source };
  });
}
