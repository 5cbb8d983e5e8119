import { LedgerError } from '../errors.js';

/**
 * Where a PostgreSQL ledger lives: a connection URL (`postgres://user@host:port/db`, or `postgresql://`) and a
 * schema in that database, so that several projects (or a test per schema) can share one database. The URL may
 * carry a password: it is never printed or recorded (`describeLocation` leaves it out); prefer PGPASSWORD or
 * ~/.pgpass, which the driver reads as libpq does.
 */

export const DEFAULT_SCHEMA = 'alipay_sync';

/** A --ledger value that names a PostgreSQL ledger rather than a SQLite file. */
export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The URL without its password (and without query parameters, which may hold one too). */
export function redactLocation(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    u.search = '';
    return u.toString().replace(/:@/, '@');
  } catch {
    return 'a PostgreSQL URL that cannot be parsed';
  }
}

/** How the ledger is named in messages: the URL without its password, and the schema. */
export function describeLocation(url: string, schema: string): string {
  return `${redactLocation(url)} (schema ${schema})`;
}

/** A schema name of ours: plain lower-case identifier, so it needs no quoting and cannot inject anything. */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new LedgerError('SYNC_LEDGER', `--schema must be a lower-case PostgreSQL name (letters, digits, _; at most 63; not starting with a digit), got ${JSON.stringify(schema.slice(0, 70))}`);
  }
  return schema;
}

/** A URL the driver can use: parsed here first, so a typo is a clear usage error rather than a connection attempt. */
export function checkLocation(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LedgerError('SYNC_LEDGER', `--ledger ${redactLocation(url)}: not a valid PostgreSQL URL (postgres://user@host:port/database)`);
  }
  if (!u.hostname && !u.searchParams.get('host')) throw new LedgerError('SYNC_LEDGER', `--ledger ${redactLocation(url)}: the URL names no host (postgres://user@host:port/database)`);
  return url;
}
