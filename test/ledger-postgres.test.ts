import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PgLedger } from '../state/postgres/ledger.js';
import type { StageRow } from '../state/port.js';
import { freshSchema, pgUrl } from './helpers/postgres.js';

/**
 * What only several writers on one PostgreSQL ledger can show: claims as leases (SKIP LOCKED, expiry, results
 * that need the claim), idempotent staging by two writers at once, a dead writer reaped, the shared rate limit,
 * notices applied once whichever receiver gets them. The single-writer contract is ledger-port.test.ts.
 */
const D = 'borrow-entities';
const KEY = randomBytes(64);
const rows = (n: number, snapshot = '2024-01-01'): StageRow[] =>
  Array.from({ length: n }, (_, i) => ({ key: `k${String(i).padStart(4, '0')}`, snapshot, bizContent: `{"i":${i}}`, file: 'a.csv', line: i + 2 }));

async function writers(n: number, o: { leaseMs?: number } = {}): Promise<PgLedger[]> {
  const url = await pgUrl();
  const schema = freshSchema();
  // opened at once: the schema is created and migrated once, and all find the same hash secret
  return Promise.all(Array.from({ length: n }, () => PgLedger.open(url, { schema, hashKey: KEY, leaseMs: o.leaseMs ?? 60_000 })));
}

async function closeAll(ls: PgLedger[]): Promise<void> {
  await Promise.all(ls.map((l) => l.close()));
}

test('writers opening a new schema at once migrate it once and share one hash secret', async () => {
  const ls = await writers(3);
  try {
    assert.equal(new Set(ls.map((l) => l.hash('x'))).size, 1);
    assert.deepEqual(ls.map((l) => l.secretSource).sort(), ['created', 'unwrapped', 'unwrapped']);
  } finally {
    await closeAll(ls);
  }
});

test('claims are leases: two writers never get the same row; a lease that expires goes to another, and the late result counts as an attempt only', async () => {
  const [a, b] = await writers(2, { leaseMs: 300 });
  try {
    await a!.acquireLock();
    await b!.acquireLock();
    const run = await a!.startRun(D, 't', [], false);
    await a!.stage(run, D, rows(10));
    const [ca, cb] = await Promise.all([a!.claimPending(D, 0, 6), b!.claimPending(D, 0, 6)]);
    assert.equal(ca.length + cb.length, 10);
    assert.equal(new Set([...ca, ...cb].map((r) => r.key)).size, 10, 'no row handed out twice');
    assert.deepEqual(await a!.claimPending(D, 0, 6), [], 'everything is claimed');

    // a's heartbeat keeps its claims alive; b stops renewing (as if frozen): its claims expire and go to a
    await b!.releaseLock(); // (frees them at once; a dead worker's go when its lease runs out, below)
    const again = await a!.claimPending(D, 0, 10);
    assert.deepEqual(again.map((r) => r.key).sort(), cb.map((r) => r.key).sort());
    // b's late result for a row a holds now: kept as an attempt, the row stays a's
    const late = cb[0]!;
    await b!.recordResult({ rowid: late.rowid, runId: run, status: 'uploaded', attempts: 1, code: '10000' },
      { runId: run, dataset: D, key: late.key, attempt: 1, kind: 'success', code: '10000' });
    assert.equal((await a!.record(D, late.key))?.status, 'pending');
    await a!.recordResult({ rowid: late.rowid, runId: run, status: 'uploaded', attempts: 2, code: '10000' });
    assert.equal((await a!.record(D, late.key))?.status, 'uploaded');
    assert.equal((await a!.record(D, late.key))?.claimed_by, null, 'the result ends the claim');
  } finally {
    await closeAll([a!, b!]);
  }
});

test('a writer that dies: its claims expire after the lease and another takes them; the next to start records its run as crashed', async () => {
  const url = await pgUrl();
  const schema = freshSchema();
  const dead = await PgLedger.open(url, { schema, hashKey: KEY, leaseMs: 400 });
  const live = await PgLedger.open(url, { schema, hashKey: KEY, leaseMs: 60_000 });
  try {
    await dead.acquireLock();
    const run = await dead.startRun(D, 't', [], false);
    await dead.stage(run, D, rows(4));
    assert.equal((await dead.claimPending(D, 0, 10)).length, 4);
    await dead.close(); // no releaseLock: its heartbeat stops, its claims and its run are left behind
    assert.deepEqual(await live.claimPending(D, 0, 10), [], 'leased until the lease runs out');
    let got: unknown[] = [];
    // (bounded: fails in 10 s if the lease never expires)
    for (const end = Date.now() + 10_000; got.length === 0 && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 100));
      got = await live.claimPending(D, 0, 10);
    }
    assert.equal(got.length, 4);
    const { tookOver } = await live.acquireLock();
    assert.equal(tookOver?.reason, 'lease-expired');
    assert.equal(tookOver?.pid, process.pid);
    assert.equal((await live.recentRuns(1))[0]?.status, 'crashed');
  } finally {
    await live.close();
  }
});

test('two writers staging the same file at once: every key once, the second leaves the first\'s rows to it; a newer row still wins', async () => {
  const [a, b] = await writers(2);
  try {
    await Promise.all([a!.acquireLock(), b!.acquireLock()]);
    const [ra, rb] = await Promise.all([a!.startRun(D, 't', ['a.csv'], false), b!.startRun(D, 't', ['a.csv'], false)]);
    const batches = [rows(300).slice(0, 150), rows(300).slice(150)];
    const counts = await Promise.all([
      (async () => [await a!.stage(ra, D, batches[0]!), await a!.stage(ra, D, batches[1]!)])(),
      (async () => [await b!.stage(rb, D, batches[0]!), await b!.stage(rb, D, batches[1]!)])(),
    ]);
    const sum = (k: 'staged' | 'unchanged' | 'superseded' | 'refused') => counts.flat().reduce((n, c) => n + c[k], 0);
    assert.equal(sum('staged'), 300, 'each key staged by one writer');
    assert.equal(sum('unchanged'), 300, 'and left to it by the other');
    assert.equal(sum('superseded'), 0);
    assert.equal(await a!.countPending(D), 300);
    const oa = await a!.runOutcomes(ra, D);
    const ob = await b!.runOutcomes(rb, D);
    assert.equal(oa.pending + ob.pending, 300);
    // a newer snapshot of a key b owns, staged by a: a's now, and b's claim on it ends
    const [claimed] = await b!.claimPending(D, 0, 1);
    const owner = claimed!.run_id === rb ? b! : a!;
    const other = owner === a ? b! : a!;
    const otherRun = owner === a ? rb : ra;
    const counted = await other.stage(otherRun, D, [{ ...rows(300).find((r) => r.key === claimed!.key)!, snapshot: '2024-02-01', bizContent: '{"new":1}' }]);
    assert.deepEqual(counted, { staged: 1, superseded: 0, unchanged: 0, refused: 0 });
    const rec = await a!.record(D, claimed!.key);
    assert.equal(rec?.claimed_by, null);
    assert.equal(rec?.snapshot, '2024-02-01');
    // b's result for the older snapshot no longer counts
    await b!.recordResult({ rowid: claimed!.rowid, runId: rb, status: 'uploaded', attempts: 1 });
    assert.equal((await a!.record(D, claimed!.key))?.status, 'pending');
  } finally {
    await closeAll([a!, b!]);
  }
});

test('the shared rate limit: slots handed out one interval apart whoever asks; one writer\'s 40005 slows every writer', async () => {
  const url = await pgUrl();
  const schema = freshSchema();
  const [a, b] = await Promise.all([0, 1].map(() => PgLedger.open(url, { schema, hashKey: KEY })));
  // the schedule is read from the database (each key's tat, by the server's clock), not timed here
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const tat = async (key: string) => (await db.query<{ tat: number }>(`SELECT tat FROM ${schema}.rate_limits WHERE key = $1`, [key])).rows[0]!.tat;
  try {
    const K = 'app|-|method';
    const limits = [{ key: K, qps: 10 }];
    const tats: number[] = [];
    for (let i = 0; i < 6; i++) {
      await (i % 2 ? b! : a!).pacing.reserveSlot(limits);
      tats.push(await tat(K));
    }
    const interval = 1050 / 10;
    for (let i = 1; i < tats.length; i++) assert.ok(tats[i]! - tats[i - 1]! >= interval - 0.01, `slot ${i} is an interval after the previous one, whichever writer asked`);
    assert.equal(await a!.pacing.currentRate(K), null, 'nothing learned yet');
    assert.equal(await a!.pacing.slowDown(K, { ceiling: 10, observed: 10, sentAgoMs: 0, holdMs: 1000 }), 5);
    assert.equal(await b!.pacing.slowDown(K, { ceiling: 10, observed: 10, sentAgoMs: 0, holdMs: 1000 }), null, 'within the hold: the same spent second');
    assert.equal(await b!.pacing.currentRate(K), 5, 'b sees a\'s 40005');
    await b!.pacing.reserveSlot(limits);
    const t1 = await tat(K);
    await b!.pacing.reserveSlot(limits);
    assert.ok((await tat(K)) - t1 >= 1050 / 5 - 0.01, 'at the halved rate, for b too');
    // a global key caps the slot too: the later of both tats, and both move past it
    const G = 'app|*';
    await a!.pacing.reserveSlot([{ key: G, qps: 1 }, ...limits]);
    const g1 = await tat(G);
    await a!.pacing.reserveSlot([{ key: G, qps: 1 }, ...limits]);
    assert.ok((await tat(G)) - g1 >= 1050 - 0.01, 'the global 1/s ceiling spaces them');
    assert.ok((await tat(K)) >= g1, 'the method\'s slot waited for the global one');
  } finally {
    await db.end();
    await closeAll([a!, b!]);
  }
});

test('notices applied once whichever receiver gets them, also when both get the same one at the same moment', async () => {
  const ls = await writers(3);
  try {
    const a = { agreement_no: '20240001', status: 'NORMAL', alipay_user_id: '2088000000000001', fields: { valid_time: '2024-05-02 10:00:00' } };
    const results = await Promise.all(ls.map((l) => l.applyNotification('n-1', a, '2024-05-02 10:00:01')));
    assert.deepEqual(results.map((r) => r.result).sort(), ['applied', 'resend', 'resend']);
    const unsign = { ...a, status: 'UNSIGN', fields: { unsign_time: '2024-05-03 10:00:00' } };
    // a late resend of the NORMAL (its own times older) racing the UNSIGN: applied before it, or stale after it
    const mixed = await Promise.all([ls[0]!.applyNotification('n-2', unsign, '2024-05-03 10:00:01'), ls[1]!.applyNotification('n-3', a, '2024-05-04 10:00:00')]);
    assert.equal(mixed[0]!.result, 'applied');
    const held = await ls[2]!.agreement('20240001');
    assert.equal(held?.status, 'UNSIGN', 'the older word never overwrites the newer, whatever the arrival order');
    assert.equal(held?.history.length, 3);
  } finally {
    await closeAll(ls);
  }
});

test('a password in the URL is never part of a message', async () => {
  const url = (await pgUrl()).replace('postgres@', 'postgres:s3cret-pw@').replace(/:\d+\//, ':1/');
  await assert.rejects(PgLedger.open(url, { schema: freshSchema() }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'SYNC_LEDGER');
    assert.doesNotMatch(err.message, /s3cret-pw/);
    assert.match(err.message, /cannot connect/);
    return true;
  });
});
