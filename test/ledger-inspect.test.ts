import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../state/ledger.js';
import { SCHEMA_VERSION } from '../state/sqlite/schema.js';
import { tempDir } from './helpers/tmp.js';

/** Names, sizes, mtimes and contents of everything in a directory: inspect must change none of it. */
function snapshot(dir: string): string {
  return readdirSync(dir).sort().map((f) => {
    const p = join(dir, f);
    const st = statSync(p);
    const digest = st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'dir';
    return `${f} ${st.size} ${st.mtimeMs} ${digest}`;
  }).join('\n');
}

function inspectQuietly(path: string, dir: string) {
  const before = snapshot(dir);
  const got = Ledger.inspect(path);
  assert.equal(snapshot(dir), before, `inspect changed files in ${dir}`);
  return got;
}

test('inspect tells absent, directory, empty, other files and other SQLite databases apart, touching nothing', () => {
  const dir = tempDir();
  assert.deepEqual(inspectQuietly(join(dir, 'none.db'), dir), { kind: 'absent' });
  mkdirSync(join(dir, 'sub'));
  assert.deepEqual(inspectQuietly(join(dir, 'sub'), dir), { kind: 'directory' });
  writeFileSync(join(dir, 'empty.db'), '');
  assert.deepEqual(inspectQuietly(join(dir, 'empty.db'), dir), { kind: 'empty' });
  writeFileSync(join(dir, 'rows.csv'), 'key,snapshot\n' + 'a,2024-01-01 00:00:00\n'.repeat(20));
  assert.deepEqual(inspectQuietly(join(dir, 'rows.csv'), dir), { kind: 'not-ledger', reason: 'not an SQLite database' });
  writeFileSync(join(dir, 'short.db'), 'SQLite format 3\u0000');
  assert.equal(inspectQuietly(join(dir, 'short.db'), dir).kind, 'not-ledger');
  const other = new Database(join(dir, 'other.db'));
  other.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
  other.close();
  assert.deepEqual(inspectQuietly(join(dir, 'other.db'), dir), { kind: 'not-ledger', reason: 'an SQLite database without the ledger\'s meta table' });
  const noVersion = new Database(join(dir, 'noversion.db'));
  noVersion.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('owner', 'someone else')");
  noVersion.close();
  assert.deepEqual(inspectQuietly(join(dir, 'noversion.db'), dir), { kind: 'not-ledger', reason: 'an SQLite database whose meta table has no schema_version' });
  const under = inspectQuietly(join(dir, 'rows.csv', 'l.db'), dir);
  assert.equal(under.kind, 'not-ledger');
  assert.match((under as { reason: string }).reason, /ENOTDIR/, 'the OS reason');
  if (process.getuid?.() !== 0) {
    writeFileSync(join(dir, 'secret.db'), 'x'.repeat(200), { mode: 0o000 });
    assert.match((inspectQuietly(join(dir, 'secret.db'), dir) as { reason: string }).reason, /EACCES/);
  }
});

test('inspect reads a ledger\'s schema version, closed or open with everything still in its -wal, without creating -wal/-shm', () => {
  const dir = tempDir();
  const path = join(dir, 'l.db');
  const l = new Ledger(path, { hashKey: randomBytes(32) });
  // open: the whole schema is still in the -wal (nothing checkpointed yet)
  assert.deepEqual(inspectQuietly(path, dir), { kind: 'ledger', schemaVersion: SCHEMA_VERSION });
  l.close();
  assert.deepEqual(readdirSync(dir), ['l.db']);
  assert.deepEqual(inspectQuietly(path, dir), { kind: 'ledger', schemaVersion: SCHEMA_VERSION });
  assert.deepEqual(readdirSync(dir), ['l.db'], 'no -wal or -shm appeared');

  // an older ledger: its version as written
  const old = new Database(path);
  old.prepare("UPDATE meta SET value = '3' WHERE key = 'schema_version'").run();
  old.close();
  assert.deepEqual(inspectQuietly(path, dir), { kind: 'ledger', schemaVersion: 3 });
});

test('inspect of a killed run\'s files: committed -wal pages count, a torn tail does not', () => {
  const live = tempDir();
  const path = join(live, 'l.db');
  const l = new Ledger(path, { hashKey: randomBytes(32) });
  // What a kill -9 leaves: the .db and its -wal as they are at that moment.
  const dir = tempDir();
  copyFileSync(path, join(dir, 'l.db'));
  copyFileSync(`${path}-wal`, join(dir, 'l.db-wal'));
  l.close();
  assert.deepEqual(inspectQuietly(join(dir, 'l.db'), dir), { kind: 'ledger', schemaVersion: SCHEMA_VERSION });
  appendFileSync(join(dir, 'l.db-wal'), randomBytes(5000)); // a frame half written
  assert.deepEqual(inspectQuietly(join(dir, 'l.db'), dir), { kind: 'ledger', schemaVersion: SCHEMA_VERSION });
  // Without its -wal, the .db alone holds only the header SQLite wrote when it switched to WAL.
  const bare = tempDir();
  copyFileSync(join(dir, 'l.db'), join(bare, 'l.db'));
  assert.equal(inspectQuietly(join(bare, 'l.db'), bare).kind, 'not-ledger');
});

test('inspect walks multi-page schemas and tables, with overflow pages, as SQLite reads them', () => {
  const dir = tempDir();
  const path = join(dir, 'big.db');
  const db = new Database(path);
  for (let i = 0; i < 150; i++) db.exec(`CREATE TABLE t${i} (${Array.from({ length: 30 }, (_, c) => `column_with_a_long_name_${c} TEXT`).join(', ')})`);
  db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 2000; i++) put.run(`k${i}`, randomBytes(3000 + (i % 7) * 1000).toString('hex'));
    put.run('schema_version', '7');
    for (let i = 2000; i < 2500; i++) put.run(`k${i}`, 'v');
  })();
  db.close();
  assert.deepEqual(inspectQuietly(path, dir), { kind: 'ledger', schemaVersion: 7 });
});
