import type { Query } from './connection.js';

/** The `meta` table: the schema version, the wrapped hash secret, the bound target (key → text value). */
export async function getMeta(q: Query, key: string): Promise<string | undefined> {
  return (await q<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]))[0]?.value;
}

export async function setMeta(q: Query, key: string, value: string): Promise<void> {
  await q('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, value]);
}

/**
 * Serialise what must stay single across writers (finding the secret, binding the target) for the rest of the
 * transaction: an advisory lock per ledger schema and purpose.
 */
export async function holdSetupLock(q: Query, schema: string, purpose: string): Promise<void> {
  await q('SELECT pg_advisory_xact_lock(hashtext($1))', [`alipay-sync ${purpose} ${schema}`]);
}
