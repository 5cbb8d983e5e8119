import type Database from 'better-sqlite3';

/**
 * The ledger's schema, as a list of migrations applied in order; `meta.schema_version` says how many ran.
 * Never edit a migration that has shipped: add the next one.
 */
/** SQL, or a step that needs to look first (adding a column only where it is missing). */
type Migration = string | ((db: Database.Database) => void);

/**
 * ALTER TABLE … ADD COLUMN for each column `table` does not have yet (SQLite has no ADD COLUMN IF NOT EXISTS):
 * a ledger turned back to an older version by hand (tests do) may still have them.
 */
function columnsOf(db: Database.Database, table: string): Set<string> {
  return new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((c) => c.name));
}

function addColumns(db: Database.Database, table: string, columns: readonly string[]): void {
  const have = columnsOf(db, table);
  for (const column of columns) {
    const name = column.split(' ')[0]!;
    if (!have.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column}`);
  }
}

/**
 * Issue 13: the merchant is part of every record's key, and the rate controller's learned rates and the daily
 * quotas found spent are kept. SQLite cannot change a primary key in place: `records` is rebuilt with every
 * column it has (whatever earlier migrations added), rowids kept (they are the staging order), its indexes made
 * again. Rows written before belong to the merchant the ledger was bound to (meta target_merchant, the same
 * keyed hash of its token that merchant ids are), or to none.
 */
function merchantsMigration(db: Database.Database): void {
  const cols = db.prepare('SELECT name, type, "notnull" AS nn, dflt_value AS dflt FROM pragma_table_info(?)').all('records') as {
    name: string; type: string; nn: number; dflt: string | null;
  }[];
  if (!cols.some((c) => c.name === 'merchant')) {
    const defs = cols.map((c) => {
      const check = c.name === 'status' ? " CHECK (status IN ('pending', 'uploaded', 'failed'))" : '';
      return `"${c.name}" ${c.type}${c.nn ? ' NOT NULL' : ''}${c.dflt !== null ? ` DEFAULT ${c.dflt}` : ''}${check}`;
    });
    const names = cols.map((c) => `"${c.name}"`).join(', ');
    const indexes = (db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' AND sql IS NOT NULL").all() as { name: string; sql: string }[])
      .filter((i) => i.name !== 'records_pending');
    db.exec(`CREATE TABLE records_new (${defs.join(', ')}, merchant TEXT NOT NULL DEFAULT '', PRIMARY KEY (dataset, merchant, key))`);
    db.prepare(`INSERT INTO records_new (rowid, ${names}, merchant) SELECT rowid, ${names}, COALESCE((SELECT value FROM meta WHERE key = 'target_merchant'), '') FROM records`).run();
    db.exec('DROP TABLE records; ALTER TABLE records_new RENAME TO records');
    for (const i of indexes) db.exec(i.sql);
  }
  // Claiming walks one merchant's pending rows in staging order; fair turns need the merchants with pending rows (an index entry ends in the rowid: staging order).
  db.exec('DROP INDEX IF EXISTS records_pending');
  db.exec("CREATE INDEX records_pending ON records (dataset, merchant) WHERE status = 'pending'");
  addColumns(db, 'attempts', ["merchant TEXT NOT NULL DEFAULT ''"]);
  addColumns(db, 'superseded', ["merchant TEXT NOT NULL DEFAULT ''"]);
  db.exec(`
  -- Where the next run starts, per app, merchant and method: what the rate controller learned (plain numbers).
  CREATE TABLE IF NOT EXISTS learned_rates (
    app_id TEXT NOT NULL,
    merchant TEXT NOT NULL,
    method TEXT NOT NULL,
    rate REAL NOT NULL,
    quota REAL,
    noise REAL NOT NULL DEFAULT 0,
    run_id INTEGER,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (app_id, merchant, method)
  );
  -- Daily quotas found spent, until when (00:00 Beijing time): status says it, the next run asks once first.
  CREATE TABLE IF NOT EXISTS quota_stops (
    app_id TEXT NOT NULL,
    merchant TEXT NOT NULL,
    method TEXT NOT NULL,
    until TEXT NOT NULL,
    since TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (app_id, merchant, method)
  );
  `);
}

export const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    run_id INTEGER,
    since TEXT NOT NULL
  );

  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    dataset TEXT NOT NULL,
    command TEXT NOT NULL,
    files TEXT NOT NULL,
    dry_run INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    exit_code INTEGER,
    pid INTEGER NOT NULL,
    summary TEXT,
    message TEXT
  );

  -- One row per business key: the snapshot we want Alipay to hold, and what it holds as far as we know.
  CREATE TABLE records (
    dataset TEXT NOT NULL,
    key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'uploaded', 'failed')),
    snapshot TEXT NOT NULL,
    hash BLOB NOT NULL,
    payload TEXT,
    run_id INTEGER NOT NULL,
    file TEXT,
    line INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    retryable INTEGER NOT NULL DEFAULT 0,
    last_code TEXT,
    last_sub_code TEXT,
    last_sub_msg TEXT,
    last_reason TEXT,
    last_run_id INTEGER,
    uploaded_snapshot TEXT,
    uploaded_hash BLOB,
    uploaded_at TEXT,
    result TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (dataset, key)
  );
  -- Only pending rows are in this index, so claiming stays cheap when millions are uploaded.
  CREATE INDEX records_pending ON records (dataset) WHERE status = 'pending';
  CREATE INDEX records_run ON records (run_id);

  CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    dataset TEXT NOT NULL,
    key TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    code TEXT,
    sub_code TEXT,
    duration_ms INTEGER
  );
  CREATE INDEX attempts_run ON attempts (run_id);

  CREATE TABLE rejects (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    dataset TEXT NOT NULL,
    file TEXT NOT NULL,
    line INTEGER NOT NULL,
    field TEXT NOT NULL,
    reason TEXT NOT NULL
  );
  CREATE INDEX rejects_run ON rejects (run_id);
  `,
  `
  -- User agreements (代扣协议) as Alipay last described them, from an effect answer, a query or a notification.
  CREATE TABLE agreements (
    agreement_no TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    alipay_user_id TEXT,
    personal_product_code TEXT,
    sign_scene TEXT,
    fields TEXT NOT NULL,
    source TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  -- Every status an agreement was seen in, in order: the history reconciliation needs.
  CREATE TABLE agreement_history (
    id INTEGER PRIMARY KEY,
    agreement_no TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    run_id INTEGER,
    at TEXT NOT NULL
  );
  CREATE INDEX agreement_history_no ON agreement_history (agreement_no);
  -- Notifications already applied, so Alipay's resends (about 8 over 25 hours) change nothing.
  CREATE TABLE notifications (
    notify_id TEXT PRIMARY KEY,
    agreement_no TEXT,
    received_at TEXT NOT NULL
  );
  `,
  `
  -- Finding the rows to retry scanned the whole table: a run on a ledger of a million rows paid a second for it.
  CREATE INDEX records_retry ON records (dataset) WHERE status = 'failed' AND retryable = 1;
  `,
  `
  -- A lock that heals: proc_start tells a live holder from another process that reuses its pid (containers
  -- start every run as the same pid), renewed_at lets a run on another host take over a lease nobody renews.
  ALTER TABLE lock ADD COLUMN proc_start TEXT;
  ALTER TABLE lock ADD COLUMN renewed_at TEXT;
  `,
  (db) => {
    // Notifications arrive out of order (resends over 25 hours): the order key of the state held (see
    // state/agreement-order.ts), so an older notice never overwrites a newer state. NULL for rows stored before.
    addColumns(db, 'agreements', ['state_since TEXT', 'state_told TEXT']);
    // Every notice is history, applied or not: whether it was applied (0: older than the state held), its
    // notify_id and notify_time, and the time its status began by the notice's own fields.
    addColumns(db, 'agreement_history', ['applied INTEGER NOT NULL DEFAULT 1', 'notify_id TEXT', 'notify_time TEXT', 'since TEXT']);
  },
  (db) => {
    // One word per concept: the request body kept while a row still has to be sent is the biz_content it is
    // sent as (worker contracts also have a business field called payload, which made "payload" ambiguous).
    if (columnsOf(db, 'records').has('payload')) db.exec('ALTER TABLE records RENAME COLUMN payload TO biz_content');
  },
  (db) => {
    // Apps on OpenID name users by open id, not 2088 user id: the user's open id and the answer's principal_open_id,
    // beside alipay_user_id. NULL for agreements stored before, and for apps that are not on OpenID.
    addColumns(db, 'agreements', ['alipay_open_id TEXT', 'principal_open_id TEXT']);
  },
  (db) => {
    // How a run sent, for its report and for status (state/sqlite/timing.ts): the settings it ran with (qps,
    // concurrency, a learned rate), and aggregates written about once a second while it sends. Aggregates, not a
    // row per request: a million-row migration adds a few thousand rows here, not a million inserts.
    addColumns(db, 'runs', ['settings TEXT']);
    db.exec(`
      -- Per second of the run (unix time): requests started, their outcomes, 40005/429 slow-downs, the rate the
      -- limiter allowed at that second (NULL: no ceiling), answer latency summed (mean = sum / answered).
      CREATE TABLE IF NOT EXISTS run_seconds (
        run_id INTEGER NOT NULL,
        second INTEGER NOT NULL,
        requests INTEGER NOT NULL DEFAULT 0,
        ok INTEGER NOT NULL DEFAULT 0,
        retried INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        fatal INTEGER NOT NULL DEFAULT 0,
        slow_downs INTEGER NOT NULL DEFAULT 0,
        rate REAL,
        latency_ms REAL NOT NULL DEFAULT 0,
        in_flight INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, second)
      ) WITHOUT ROWID;
      -- Answer latency histogram: bucket i holds durations in (1.1^(i-1), 1.1^i] ms (bucket 0: at most 1 ms).
      CREATE TABLE IF NOT EXISTS run_latency (
        run_id INTEGER NOT NULL,
        bucket INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (run_id, bucket)
      ) WITHOUT ROWID;
      -- Answers by outcome kind, code and sub_code ('' when none).
      CREATE TABLE IF NOT EXISTS run_codes (
        run_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        code TEXT NOT NULL,
        sub_code TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (run_id, kind, code, sub_code)
      ) WITHOUT ROWID;
      -- The slowest requests and the first failed rows of a run (keys as the ledger holds them, reasons masked).
      CREATE TABLE IF NOT EXISTS run_keys (
        run_id INTEGER NOT NULL,
        list TEXT NOT NULL CHECK (list IN ('slowest', 'failed')),
        key TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        duration_ms INTEGER,
        code TEXT,
        sub_code TEXT,
        reason TEXT,
        at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS run_keys_run ON run_keys (run_id, list);
    `);
  },
  (db) => {
    // `alipay-sync rows`: one key's story (its attempts, with the snapshot sent and Alipay's trace id; the trace id
    // of its last answer on the record itself, first-try successes included), and the rows a run read but did not
    // send because a newer snapshot of their key was held or read (superseded: listed, never sent).
    addColumns(db, 'attempts', ['trace_id TEXT', 'snapshot TEXT']);
    addColumns(db, 'records', ['last_trace_id TEXT']);
    db.exec(`
      CREATE INDEX IF NOT EXISTS attempts_key ON attempts (dataset, key);
      CREATE INDEX IF NOT EXISTS records_failed ON records (dataset) WHERE status = 'failed';
      CREATE TABLE IF NOT EXISTS superseded (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        dataset TEXT NOT NULL,
        key TEXT NOT NULL,
        snapshot TEXT NOT NULL,
        file TEXT,
        line INTEGER,
        -- the snapshot that won: held by Alipay, still to send, or read later in the same run
        kept_snapshot TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS superseded_key ON superseded (dataset, key);
      CREATE INDEX IF NOT EXISTS superseded_run ON superseded (run_id);
    `);
  },
  merchantsMigration,
];
