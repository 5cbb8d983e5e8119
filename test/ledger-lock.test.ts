import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ledger } from '../state/ledger.js';
import { parseProcStatStart, procStartOf } from '../state/process-identity.js';
import { SCHEMA_VERSION } from '../state/sqlite/schema.js';
import { waitUntil } from './helpers/wait.js';
import { tempDir } from './helpers/tmp.js';

const D = 'borrow-entities';
const T0 = Date.parse('2025-03-01T00:00:00.000Z');
const busy = (re: RegExp) => (e: Error & { code?: string }) => e.code === 'SYNC_LEDGER_BUSY' && re.test(e.message);

test('a lock from another host whose lease was not renewed is taken over (lease-expired); its run is marked crashed', () => {
  const path = join(tempDir(), 'l.db');
  const first = new Ledger(path, { host: 'h1', clock: () => T0 });
  first.acquireLock();
  const run = first.startRun(D, 't', [], false);
  const later = new Ledger(path, { host: 'h2', clock: () => T0 + 120_000 });
  assert.deepEqual(later.acquireLock(), {
    tookOver: { pid: process.pid, host: 'h1', since: new Date(T0).toISOString(), reason: 'lease-expired' },
  });
  assert.equal(later.recentRuns(1)[0]!.id, run);
  assert.equal(later.recentRuns(1)[0]!.status, 'crashed');
  assert.equal(later.lockHolder()!.host, 'h2');
  later.releaseLock();
  first.close();
  later.close();
});

test('a lock from another host with a fresh lease refuses, saying when it was renewed and when it would be taken over', () => {
  const path = join(tempDir(), 'l.db');
  const first = new Ledger(path, { host: 'h1', clock: () => T0 });
  first.acquireLock();
  const other = new Ledger(path, { host: 'h2', clock: () => T0 + 119_000 });
  assert.throws(() => other.acquireLock(), busy(
    /in use by another alipay-sync run \(pid \d+ on h1, since 2025-03-01T00:00:00\.000Z\); its lock was last renewed at 2025-03-01T00:00:00\.000Z and is taken over automatically if not renewed for 2 min/,
  ));
  const shortLease = new Ledger(path, { host: 'h2', clock: () => T0 + 119_000, leaseMs: 30_000 });
  assert.equal(shortLease.acquireLock().tookOver!.reason, 'lease-expired', 'the lease is the taker\'s setting');
  for (const l of [first, other, shortLease]) l.close();
});

test('same host: a live pid that now runs another process (pid reuse) is taken over; the same process is not', () => {
  const path = join(tempDir(), 'l.db');
  const first = new Ledger(path, { host: 'h', procStart: () => 'start-A' });
  first.acquireLock();
  assert.equal(first.lockHolder()!.procStart, 'start-A');
  const sameProcess = new Ledger(path, { host: 'h', procStart: () => 'start-A' });
  assert.deepEqual(sameProcess.acquireLock(), { tookOver: null });
  // The recorded pid is alive (it is ours) but started at another time: a container's next run, say.
  const reused = new Ledger(path, { host: 'h', procStart: () => 'start-B' });
  const { tookOver } = reused.acquireLock();
  assert.equal(tookOver!.reason, 'pid-reused');
  assert.equal(tookOver!.pid, process.pid);
  // Where start times cannot be known (not Linux), a live pid keeps its lock.
  const unknown = new Ledger(path, { host: 'h', procStart: () => null });
  assert.deepEqual(unknown.acquireLock(), { tookOver: null });
  for (const l of [first, sameProcess, reused, unknown]) l.close();
});

test('a real holder: refused while it runs, taken over (dead) once it is killed with SIGKILL', async () => {
  const path = join(tempDir(), 'l.db');
  new Ledger(path).close();
  const ledgerUrl = new URL('../state/ledger.js', import.meta.url).href;
  const script = `import { Ledger } from ${JSON.stringify(ledgerUrl)};
    const l = new Ledger(${JSON.stringify(path)}); l.acquireLock(); console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await waitUntil(() => out.includes('locked'), { ms: 15_000, what: 'the child to take the lock' });
    const mine = new Ledger(path);
    assert.throws(() => mine.acquireLock(), busy(new RegExp(`pid ${child.pid} on `)));
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(10_000).then(() => assert.fail('the child did not exit'))]);
    const { tookOver } = mine.acquireLock();
    assert.equal(tookOver!.reason, 'dead');
    assert.equal(tookOver!.pid, child.pid);
    mine.releaseLock();
    mine.close();
  } finally {
    child.kill('SIGKILL');
  }
});

test('while held, the lease is renewed every quarter of it; a busy database skips a beat instead of failing', async () => {
  const path = join(tempDir(), 'l.db');
  const l = new Ledger(path, { leaseMs: 40 });
  l.acquireLock();
  const first = l.lockHolder()!.renewedAt;
  await waitUntil(() => l.lockHolder()!.renewedAt !== first, { ms: 3_000, what: 'a renewal' });
  // Another connection holds the write lock for a while: renewals must neither throw nor wait.
  const other = new Database(path);
  other.exec('BEGIN IMMEDIATE');
  const held = l.lockHolder()!.renewedAt;
  const t = Date.now();
  await sleep(60);
  assert.ok(Date.now() - t < 1_000, 'a renewal never waits for the busy database (it runs on the sending thread)');
  assert.equal(l.lockHolder()!.renewedAt, held, 'no renewal while another connection writes');
  other.exec('COMMIT');
  other.close();
  await waitUntil(() => l.lockHolder()!.renewedAt !== held, { ms: 3_000, what: 'the renewals to resume' });
  l.releaseLock();
  assert.equal(l.lockHolder(), null);
  l.close();
});

test('the process start time is read from /proc/<pid>/stat even when the command name holds spaces and parentheses', () => {
  const after = ['S', ...Array.from({ length: 18 }, (_, i) => String(i + 4)), '987654', '0', '0'];
  assert.equal(parseProcStatStart(`1234 (node) ${after.join(' ')}`), '987654');
  assert.equal(parseProcStatStart(`1234 (a) b (c) ) S) ${after.join(' ')}\n`), '987654');
  assert.equal(parseProcStatStart('1234 (truncated'), null);
  assert.equal(parseProcStatStart('1234 (x) S 1 2'), null);
  if (process.platform === 'linux') {
    assert.match(procStartOf(process.pid)!, /^\d+$/);
    assert.equal(procStartOf(process.pid), procStartOf(process.pid));
    assert.equal(procStartOf(2 ** 22 + 1), null, 'beyond pid_max: no such process');
  }
});

test('a lock left by an older version (schema 3: no start time, no lease) is migrated and taken over when its pid is dead', () => {
  const path = join(tempDir(), 'l.db');
  new Ledger(path).close();
  // Turn it back into what version 3 wrote, with a lock held by a pid that no longer exists.
  const db = new Database(path);
  db.exec("ALTER TABLE lock DROP COLUMN proc_start; ALTER TABLE lock DROP COLUMN renewed_at; UPDATE meta SET value = '3' WHERE key = 'schema_version'");
  db.prepare('INSERT INTO lock (id, pid, host, run_id, since) VALUES (1, ?, ?, NULL, ?)').run(2 ** 22 + 1, hostname(), new Date(T0).toISOString());
  db.close();
  const l = new Ledger(path);
  assert.deepEqual(l.acquireLock(), { tookOver: { pid: 2 ** 22 + 1, host: hostname(), since: new Date(T0).toISOString(), reason: 'dead' } });
  assert.equal(Ledger.inspect(path).kind, 'ledger');
  l.releaseLock();
  l.close();
  assert.deepEqual(Ledger.inspect(path), { kind: 'ledger', schemaVersion: SCHEMA_VERSION });
});
