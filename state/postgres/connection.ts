import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { LedgerError } from '../errors.js';
import { checkLocation, checkSchemaName, describeLocation } from './location.js';

/** How a PostgreSQL ledger is opened (PgLedger.open). */
export interface PgLedgerOptions {
  /** the schema the ledger's tables live in (created when missing); default alipay_sync */
  schema?: string;
  /** key material the hash secret is wrapped with (the app private key's DER bytes), as for SQLite */
  hashKey?: Buffer;
  rebind?: boolean;
  /** everything this ledger writes is rolled back at close (one transaction on one connection) */
  dryRun?: boolean;
  /** status: nothing is created or migrated; a schema without a ledger is an error */
  readonly?: boolean;
  /** a schema without a ledger is an error (it is still migrated when older) */
  mustExist?: boolean;
  /** how long a claim on rows and a worker's heartbeat last unless renewed, in ms (default 60000) */
  leaseMs?: number;
  /** connections in the pool (default 8) */
  poolSize?: number;
  /** this host's name, on the worker row */
  host?: string;
  /** the clock of the order keys of agreements (state/agreement-order.ts), as for SQLite */
  clock?: () => number;
}

/** One statement's runner: a pooled connection, a transaction's, or the dry run's. */
export type Query = <R = Record<string, unknown>>(sql: string, params?: readonly unknown[]) => Promise<R[]>;

const INT8 = 20;
const TIMESTAMPTZ = 1184;
const NUMERIC = 1700;

/** bigint counts and ids as numbers (ledgers stay far below 2^53), times as ISO text (as the SQLite ledger gives them). */
const types = {
  getTypeParser(oid: number, format?: string): (v: string) => unknown {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    if (oid === TIMESTAMPTZ) {
      const parse = pg.types.getTypeParser(TIMESTAMPTZ) as (v: string) => Date;
      return (v: string) => parse(v).toISOString();
    }
    return pg.types.getTypeParser(oid, format as 'text') as (v: string) => unknown;
  },
};

/** SQL written with `?` placeholders (shared with the SQLite adapter, state/rows-filter.ts) numbered $1, $2… from `from`. */
export function numbered(sql: string, from = 1): string {
  let n = from;
  return sql.replace(/\?/g, () => `$${n++}`);
}

/** SQLSTATEs after which the whole transaction may simply be run again: a deadlock, a serialization failure. */
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * The pool of one PostgreSQL ledger and what every concept of the adapter shares: where it is (for messages),
 * this writer's identity (claims and the worker row name it), the lease, and transactions. Every table lives in
 * the ledger's own schema (the connections' search_path), so the SQL names tables plainly.
 *
 * A dry run holds one connection in one transaction from open to close: every call goes over it (one at a time),
 * and close rolls everything back, the schema's creation included (PostgreSQL's DDL is transactional).
 */
export class PgConnection {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly where: string;
  readonly worker = randomUUID();
  readonly leaseMs: number;
  readonly readonly: boolean;
  private dry: pg.PoolClient | null = null;
  /** the dry run's connection serves one call at a time */
  private dryChain: Promise<unknown> = Promise.resolve();
  /** called first by close(): timers stop */
  onClose: (() => Promise<void>) | null = null;

  constructor(url: string, readonly o: PgLedgerOptions) {
    this.schema = checkSchemaName(o.schema ?? 'alipay_sync');
    this.where = describeLocation(url, this.schema);
    this.leaseMs = o.leaseMs ?? 60_000;
    this.readonly = o.readonly ?? false;
    this.pool = new pg.Pool({
      connectionString: checkLocation(url), max: o.poolSize ?? 8, types, application_name: 'alipay-sync',
      options: `-c search_path=${this.schema}`, connectionTimeoutMillis: 15_000, idleTimeoutMillis: 10_000,
    });
    // A connection lost while idle in the pool: the next query says so; do not crash the process.
    this.pool.on('error', () => {});
  }

  get isDryRun(): boolean {
    return this.dry !== null;
  }

  /** A ledger error naming the ledger (without its password), from whatever the driver threw. */
  fail(err: unknown): LedgerError {
    if (err instanceof LedgerError) return err;
    const e = err as Error & { code?: string };
    const what = e.code === 'ECONNREFUSED' ? 'cannot connect (is the server running, and the port right?)'
      : e.code === '3D000' || e.code === '28P01' || e.code === '28000' ? e.message
      : e.message;
    return new LedgerError('SYNC_LEDGER', `ledger ${this.where}: ${what}`);
  }

  /** Start the dry run's transaction (before anything else is done with the ledger). */
  async beginDryRun(): Promise<void> {
    if (this.dry) return;
    try {
      this.dry = await this.pool.connect();
      await this.dry.query('BEGIN');
    } catch (err) {
      throw this.fail(err);
    }
  }

  async rollbackDryRun(): Promise<void> {
    const c = this.dry;
    this.dry = null;
    if (!c) return;
    await this.dryChain.catch(() => {});
    try {
      await c.query('ROLLBACK');
    } finally {
      c.release();
    }
  }

  private onDry<T>(step: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = this.dry!;
    const run = this.dryChain.then(() => step(c), () => step(c));
    this.dryChain = run.catch(() => {});
    return run;
  }

  /** One statement, outside any transaction (autocommit), or on the dry run's connection. */
  query: Query = async <R>(sql: string, params: readonly unknown[] = []): Promise<R[]> => {
    try {
      if (this.dry) return (await this.onDry((c) => c.query(sql, params as unknown[]))).rows as R[];
      return (await this.pool.query(sql, params as unknown[])).rows as R[];
    } catch (err) {
      throw this.fail(err);
    }
  };

  /**
   * Run `body` in one transaction (READ COMMITTED; rows read FOR UPDATE where the rule needs them held). A
   * deadlock or serialization failure rolls back and runs it again (a few times): `body` must only write
   * through `q`. In a dry run the transaction is a savepoint of the dry run's.
   */
  async tx<T>(body: (q: Query) => Promise<T>): Promise<T> {
    if (this.dry) {
      return this.onDry(async (c) => {
        const q: Query = async <R>(sql: string, params: readonly unknown[] = []) => (await c.query(sql, params as unknown[])).rows as R[];
        await c.query('SAVEPOINT step');
        try {
          const out = await body(q);
          await c.query('RELEASE SAVEPOINT step');
          return out;
        } catch (err) {
          await c.query('ROLLBACK TO SAVEPOINT step').catch(() => {});
          throw this.fail(err);
        }
      });
    }
    for (let attempt = 1; ; attempt++) {
      let c: pg.PoolClient;
      try {
        c = await this.pool.connect();
      } catch (err) {
        throw this.fail(err);
      }
      const q: Query = async <R>(sql: string, params: readonly unknown[] = []) => (await c.query(sql, params as unknown[])).rows as R[];
      try {
        await c.query('BEGIN');
        const out = await body(q);
        await c.query('COMMIT');
        c.release();
        return out;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        c.release();
        const code = (err as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < 5) {
          await new Promise((r) => setTimeout(r, 5 + Math.random() * 50 * attempt));
          continue;
        }
        throw this.fail(err);
      }
    }
  }

  async close(): Promise<void> {
    await this.onClose?.();
    this.onClose = null;
    await this.rollbackDryRun().catch(() => {});
    await this.pool.end().catch(() => {});
  }
}
