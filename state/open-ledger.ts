import { Ledger } from './ledger.js';
import type { LedgerPort } from './port.js';
import { isPostgresLocation } from './postgres/location.js';

export { DEFAULT_SCHEMA, describeLocation, isPostgresLocation, redactLocation } from './postgres/location.js';

/** Either adapter, as the pipeline holds it. */
export type AnyLedger = LedgerPort<'sync'> | LedgerPort<'async'>;

export interface OpenLedgerOptions {
  /** PostgreSQL: the schema (default alipay_sync); ignored for a file */
  schema?: string;
  hashKey?: Buffer;
  rebind?: boolean;
  dryRun?: boolean;
  readonly?: boolean;
  /** PostgreSQL: how long claims and heartbeats last unless renewed, in ms */
  leaseMs?: number;
  /** PostgreSQL: the schema must hold a ledger already (notify serve: a mistyped one must not answer Alipay `success`) */
  mustExist?: boolean;
}

/**
 * Open the ledger `--ledger` names: a `postgres://` URL is the PostgreSQL adapter (loaded only then, so a SQLite
 * run never loads the driver), anything else a SQLite file.
 */
export async function openLedger(location: string, o: OpenLedgerOptions = {}): Promise<AnyLedger> {
  if (isPostgresLocation(location)) {
    const { PgLedger } = await import('./postgres/ledger.js');
    return PgLedger.open(location, o);
  }
  return new Ledger(location, { hashKey: o.hashKey, rebind: o.rebind, dryRun: o.dryRun, readonly: o.readonly });
}
