import { LedgerError } from '../errors.js';
import type { PgConnection, Query } from './connection.js';

/**
 * The PostgreSQL ledger's schema, as a list of migrations applied in order (meta.schema_version says how many
 * ran); never edit one that has shipped: add the next. The same concepts as the SQLite ledger's tables
 * (state/sqlite/schema.ts), plus what several writers need: `workers` (who is alive: a heartbeat with an
 * expiry), claims on records (`claimed_by`, `claim_expires_at`) and `rate_limits` (the shared limit's state).
 * Times are the server's (`now()`), so hosts' clocks never have to agree.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);

  -- Every process that has the ledger open to run: its heartbeat (renewed_at) and when it counts as gone.
  CREATE TABLE workers (
    id text PRIMARY KEY,
    host text NOT NULL,
    pid integer NOT NULL,
    run_id bigint,
    since timestamptz NOT NULL DEFAULT now(),
    renewed_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
  );

  CREATE TABLE runs (
    id bigserial PRIMARY KEY,
    dataset text NOT NULL,
    command text NOT NULL,
    files text NOT NULL,
    dry_run boolean NOT NULL DEFAULT false,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status text NOT NULL,
    exit_code integer,
    pid integer NOT NULL,
    host text NOT NULL,
    worker text NOT NULL,
    phase text NOT NULL DEFAULT 'staging',
    summary text,
    message text,
    settings text
  );
  CREATE INDEX runs_dataset ON runs (dataset, id);

  -- One row per business key, as in the SQLite ledger, plus the claim of the writer sending it.
  CREATE TABLE records (
    id bigserial PRIMARY KEY,
    dataset text NOT NULL,
    -- the merchant a row is sent for: a keyed hash of its app_auth_token ('' for none); part of its key
    merchant text NOT NULL DEFAULT '',
    key text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'uploaded', 'failed')),
    snapshot text NOT NULL,
    hash text NOT NULL,
    biz_content text,
    run_id bigint NOT NULL,
    file text,
    line integer,
    attempts integer NOT NULL DEFAULT 0,
    retryable boolean NOT NULL DEFAULT false,
    last_code text,
    last_sub_code text,
    last_sub_msg text,
    last_reason text,
    last_run_id bigint,
    uploaded_snapshot text,
    uploaded_hash text,
    uploaded_at timestamptz,
    result text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    claimed_by text,
    claim_expires_at timestamptz,
    last_trace_id text,
    UNIQUE (dataset, merchant, key)
  );
  -- Only pending rows are in these indexes, so claiming stays cheap when millions are uploaded (a merchant's own
  -- rows, for fair turns, or any).
  CREATE INDEX records_pending ON records (dataset, merchant, id) WHERE status = 'pending';
  CREATE INDEX records_pending_any ON records (dataset, id) WHERE status = 'pending';
  CREATE INDEX records_run ON records (run_id);
  CREATE INDEX records_retry ON records (dataset) WHERE status = 'failed' AND retryable;
  CREATE INDEX records_claimed ON records (claimed_by) WHERE claimed_by IS NOT NULL;
  CREATE INDEX records_failed ON records (dataset) WHERE status = 'failed';

  CREATE TABLE attempts (
    id bigserial PRIMARY KEY,
    run_id bigint NOT NULL,
    dataset text NOT NULL,
    merchant text NOT NULL DEFAULT '',
    key text NOT NULL,
    attempt integer NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL,
    code text,
    sub_code text,
    duration_ms integer,
    trace_id text,
    snapshot text
  );
  CREATE INDEX attempts_run ON attempts (run_id);
  CREATE INDEX attempts_key ON attempts (dataset, key, id);

  -- Lines a run read and did not send because a newer snapshot of their key won (listed by rows, never sent).
  CREATE TABLE superseded (
    id bigserial PRIMARY KEY,
    run_id bigint NOT NULL,
    dataset text NOT NULL,
    merchant text NOT NULL DEFAULT '',
    key text NOT NULL,
    snapshot text NOT NULL,
    file text,
    line integer,
    kept_snapshot text NOT NULL
  );
  CREATE INDEX superseded_key ON superseded (dataset, key);
  CREATE INDEX superseded_run ON superseded (run_id);

  -- How a run sent, in aggregates written about once a second (see state/sqlite/timing.ts): per second, the
  -- latency histogram, answers by code, the slowest and first failed keys.
  CREATE TABLE run_seconds (
    run_id bigint NOT NULL,
    second bigint NOT NULL,
    requests integer NOT NULL DEFAULT 0,
    ok integer NOT NULL DEFAULT 0,
    retried integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    fatal integer NOT NULL DEFAULT 0,
    slow_downs integer NOT NULL DEFAULT 0,
    rate double precision,
    latency_ms double precision NOT NULL DEFAULT 0,
    in_flight integer NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, second)
  );
  CREATE TABLE run_latency (run_id bigint NOT NULL, bucket integer NOT NULL, count integer NOT NULL, PRIMARY KEY (run_id, bucket));
  CREATE TABLE run_codes (
    run_id bigint NOT NULL, kind text NOT NULL, code text NOT NULL, sub_code text NOT NULL, count integer NOT NULL,
    PRIMARY KEY (run_id, kind, code, sub_code)
  );
  CREATE TABLE run_keys (
    id bigserial PRIMARY KEY,
    run_id bigint NOT NULL,
    list text NOT NULL CHECK (list IN ('slowest', 'failed')),
    key text NOT NULL,
    attempt integer NOT NULL,
    duration_ms integer,
    code text,
    sub_code text,
    reason text,
    at text NOT NULL
  );
  CREATE INDEX run_keys_run ON run_keys (run_id, list);

  -- Where the next run starts, per app, merchant and method: what the rate controllers learned (plain numbers;
  -- the newest observation wins, whichever worker made it).
  CREATE TABLE learned_rates (
    app_id text NOT NULL,
    merchant text NOT NULL,
    method text NOT NULL,
    rate double precision NOT NULL,
    quota double precision,
    noise double precision NOT NULL DEFAULT 0,
    run_id bigint,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, merchant, method)
  );
  -- Daily quotas found spent, until when (00:00 Beijing time): every worker stops sending for the key until then.
  CREATE TABLE quota_stops (
    app_id text NOT NULL,
    merchant text NOT NULL,
    method text NOT NULL,
    until text NOT NULL,
    since text NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (app_id, merchant, method)
  );

  CREATE TABLE rejects (
    id bigserial PRIMARY KEY,
    run_id bigint NOT NULL,
    dataset text NOT NULL,
    file text NOT NULL,
    line integer NOT NULL,
    field text NOT NULL,
    reason text NOT NULL
  );
  CREATE INDEX rejects_run ON rejects (run_id);

  CREATE TABLE agreements (
    agreement_no text PRIMARY KEY,
    status text NOT NULL,
    alipay_user_id text,
    alipay_open_id text,
    principal_open_id text,
    personal_product_code text,
    sign_scene text,
    fields text NOT NULL,
    source text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    state_since text,
    state_told text
  );
  CREATE TABLE agreement_history (
    id bigserial PRIMARY KEY,
    agreement_no text NOT NULL,
    status text NOT NULL,
    source text NOT NULL,
    run_id bigint,
    at timestamptz NOT NULL DEFAULT now(),
    applied boolean NOT NULL DEFAULT true,
    notify_id text,
    notify_time text,
    since text
  );
  CREATE INDEX agreement_history_no ON agreement_history (agreement_no, id);
  CREATE TABLE notifications (
    notify_id text PRIMARY KEY,
    agreement_no text,
    received_at timestamptz NOT NULL DEFAULT now()
  );

  -- The shared rate limit (GCRA): per key, the earliest time the next request may start (tat, ms since the
  -- epoch by the server's clock) and the rate learned from 40005 (NULL: the caller's ceiling).
  CREATE TABLE rate_limits (
    key text PRIMARY KEY,
    tat double precision NOT NULL DEFAULT 0,
    rate double precision,
    slowed_at double precision,
    recovered_at double precision,
    slow_downs integer NOT NULL DEFAULT 0
  );
  `,
];

export const PG_SCHEMA_VERSION = MIGRATIONS.length;

async function currentVersion(q: Query): Promise<number | null> {
  const [has] = await q<{ meta: boolean }>("SELECT to_regclass('meta') IS NOT NULL AS meta");
  if (!has?.meta) return null;
  const [row] = await q<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'");
  return row ? Number(row.value) : 0;
}

function checkNotNewer(c: PgConnection, v: number): void {
  if (v > MIGRATIONS.length) {
    throw new LedgerError('SYNC_LEDGER', `ledger ${c.where}: schema version ${v} is newer than this alipay-sync understands (${MIGRATIONS.length}): upgrade alipay-sync`);
  }
}

/**
 * Create the schema and bring it up to date, in one transaction serialised by an advisory lock on the schema's
 * name: several workers starting at once find it created by the first (never half-migrated).
 */
export async function migrate(c: PgConnection): Promise<void> {
  await c.tx(async (q) => {
    await q('SELECT pg_advisory_xact_lock(hashtext($1))', [`alipay-sync schema ${c.schema}`]);
    await q(`CREATE SCHEMA IF NOT EXISTS ${c.schema}`);
    const v = (await currentVersion(q)) ?? 0;
    checkNotNewer(c, v);
    if (v === MIGRATIONS.length) return;
    for (let i = v; i < MIGRATIONS.length; i++) await q(MIGRATIONS[i]!);
    await q("INSERT INTO meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", [String(MIGRATIONS.length)]);
  });
}

/** A read-only open: the schema must hold a ledger already (status never creates one). */
export async function checkSchema(c: PgConnection): Promise<void> {
  const v = await currentVersion(c.query);
  if (v === null || v === 0) throw new LedgerError('SYNC_LEDGER', `no ledger at ${c.where} (check --ledger and --schema, or run an upload first)`);
  checkNotNewer(c, v);
}
