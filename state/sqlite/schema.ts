import type Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

/** Applying the ledger's migrations (state/sqlite/migrations.ts holds them, in order). */

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The schema version recorded in the ledger: 0 for a file nobody has migrated yet. */
function currentVersion(db: Database.Database): number {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  const row = hasMeta
    ? (db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined)
    : undefined;
  return row ? Number(row.value) : 0;
}

function checkNotNewer(current: number): void {
  if (current > MIGRATIONS.length) {
    throw new Error(`ledger schema version ${current} is newer than this alipay-sync understands (${MIGRATIONS.length}): upgrade alipay-sync`);
  }
}

/**
 * Bring the schema up to date. Two processes may create the same new ledger at the same moment (cron and a
 * hand-started run): the version read outside a transaction only decides whether to take the write lock; it is
 * read again inside BEGIN IMMEDIATE, so the second opener waits for the first and then finds nothing to do
 * (instead of running CREATE TABLE twice). All pending migrations commit together: a ledger is never left
 * half-migrated.
 */
export function migrate(db: Database.Database): void {
  const seen = currentVersion(db);
  checkNotNewer(seen);
  if (seen === MIGRATIONS.length) return;
  db.transaction(() => {
    const current = currentVersion(db);
    checkNotNewer(current);
    for (let v = current; v < MIGRATIONS.length; v++) {
      const m = MIGRATIONS[v]!;
      if (typeof m === 'string') db.exec(m);
      else m(db);
    }
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(String(MIGRATIONS.length));
  }).immediate();
}
