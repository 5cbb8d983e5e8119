import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Ledger } from '../state/ledger.js';
import type { LedgerPort, Mode, StageRow } from '../state/port.js';
import { PgLedger } from '../state/postgres/ledger.js';
import { freshSchema, pgUrl } from './helpers/postgres.js';
import { tempDir } from './helpers/tmp.js';

/**
 * The ledger contract: the same behaviours, written once against LedgerPort<Mode> (every call awaited, iterators
 * walked with `for await`), run on both adapters: the SQLite file and a real PostgreSQL server (a schema per
 * test). What only several writers can show (leases, SKIP LOCKED, the shared rate) is in ledger-postgres.test.ts.
 */
type L = LedgerPort<Mode>;

interface Adapter {
  name: string;
  /** a new empty ledger; `again` reopens the same one (another connection), with options */
  fresh(o?: { hashKey?: Buffer }): Promise<{ ledger: L; again: (o?: { hashKey?: Buffer; rebind?: boolean; dryRun?: boolean }) => Promise<L> }>;
}

const KEY = randomBytes(64);

const ADAPTERS: Adapter[] = [
  {
    name: 'SQLite',
    async fresh(o = {}) {
      const path = join(tempDir(), 'l.db');
      const again = async (p: { hashKey?: Buffer; rebind?: boolean; dryRun?: boolean } = {}) => new Ledger(path, { hashKey: KEY, ...p });
      return { ledger: new Ledger(path, { hashKey: o.hashKey ?? KEY }), again };
    },
  },
  {
    name: 'PostgreSQL',
    async fresh(o = {}) {
      const url = await pgUrl();
      const schema = freshSchema();
      const again = (p: { hashKey?: Buffer; rebind?: boolean; dryRun?: boolean } = {}) => PgLedger.open(url, { schema, hashKey: KEY, ...p });
      return { ledger: await PgLedger.open(url, { schema, hashKey: o.hashKey ?? KEY }), again };
    },
  },
];

const D = 'borrow-entities';
const row = (key: string, snapshot: string, bizContent = `{"k":"${key}","s":"${snapshot}"}`, line = 2): StageRow => ({ key, snapshot, bizContent, file: 'a.csv', line });

async function claimAll(l: L, dataset = D): Promise<{ rowid: number; key: string; run_id: number; biz_content: string; attempts: number }[]> {
  const out = [];
  for (let cursor = 0; ;) {
    const rows = await l.claimPending(dataset, cursor, 2);
    if (rows.length === 0) return out;
    for (const r of rows) cursor = r.rowid;
    out.push(...rows);
  }
}

async function uploadAll(l: L, runId: number, dataset = D): Promise<number> {
  const rows = await claimAll(l, dataset);
  await l.recordResults(rows.map((r) => ({ result: { rowid: r.rowid, runId, status: 'uploaded' as const, attempts: 1, code: '10000' } })));
  return rows.length;
}

async function withLedger(a: Adapter, body: (l: L, again: Awaited<ReturnType<Adapter['fresh']>>['again']) => Promise<void>): Promise<void> {
  const { ledger, again } = await a.fresh();
  try {
    await body(ledger, again);
  } finally {
    await ledger.close();
  }
}

for (const a of ADAPTERS) {
  describe(`ledger contract on ${a.name}`, () => {
    test('runs are recorded, listed newest first, and finished with their summary', () => withLedger(a, async (l) => {
      await l.acquireLock();
      const r1 = await l.startRun(D, 'upload borrow-entities a.csv', ['a.csv'], false, { qps: 10, concurrency: 4 });
      const r2 = await l.startRun('worker-contracts', 'upload worker-contracts b.csv', ['b.csv'], false);
      await l.finishRun(r1, 'done', 0, { read: 3 }, 'fine');
      const runs = await l.recentRuns(10);
      assert.deepEqual(runs.map((r) => r.id), [r2, r1]);
      assert.deepEqual({ ...runs[1], startedAt: '', finishedAt: '' }, {
        id: r1, dataset: D, command: 'upload borrow-entities a.csv', files: ['a.csv'], dryRun: false, startedAt: '', finishedAt: '',
        status: 'done', exitCode: 0, summary: { read: 3 }, message: 'fine', settings: { qps: 10, concurrency: 4 },
      });
      assert.deepEqual((await l.runInfo(r1))?.settings, { qps: 10, concurrency: 4 });
      assert.equal(await l.runInfo(9999), undefined);
      assert.ok(!Number.isNaN(Date.parse(runs[1]!.startedAt)));
      assert.deepEqual((await l.recentRuns(10, D)).map((r) => r.id), [r1]);
      await l.releaseLock();
    }));

    test('staging keeps the newest snapshot per key; identical to what Alipay holds is skipped, older superseded', () => withLedger(a, async (l) => {
      const run = await l.startRun(D, 't', ['a.csv'], false);
      // a duplicate line and a newer line of one key in the same batch
      assert.deepEqual(await l.stage(run, D, [row('k1', '2024-01-01'), row('k2', '2024-01-01'), row('k2', '2024-01-01'), row('k3', '2024-01-01'), row('k3', '2024-01-02')]),
        { staged: 3, superseded: 2, unchanged: 0, refused: 0 });
      assert.equal(await l.countPending(D), 3);
      assert.deepEqual(await l.stagedPlan(run, D), { new: 3, changed: 0 });
      assert.equal(await uploadAll(l, run), 3);
      assert.deepEqual(await l.runOutcomes(run, D), { pending: 0, uploaded: 3, failed: 0 });
      const k3 = await l.record(D, 'k3');
      assert.equal(k3?.snapshot, '2024-01-02');
      assert.equal(k3?.biz_content, null, 'the body goes once uploaded');
      assert.equal(k3?.uploaded_snapshot, '2024-01-02');

      const run2 = await l.startRun(D, 't', ['a.csv'], false);
      assert.deepEqual(await l.stage(run2, D, [row('k1', '2024-01-01'), row('k3', '2024-01-01'), row('k2', '2024-01-05'), row('k4', '2024-01-01')]),
        { staged: 2, superseded: 1, unchanged: 1, refused: 0 });
      assert.deepEqual(await l.stagedPlan(run2, D), { new: 1, changed: 1 });
      const claimed = await claimAll(l);
      assert.deepEqual(claimed.map((r) => r.key).sort(), ['k2', 'k4']);
      assert.ok(claimed.every((r) => r.run_id === run2));
    }));

    test('outcomes: failed keeps its body only when retryable, is revived once, pending keeps it; attempts are kept', () => withLedger(a, async (l) => {
      const run = await l.startRun(D, 't', [], false);
      await l.stage(run, D, [row('a', 's'), row('b', 's'), row('c', 's')]);
      const [ra, rb, rc] = await claimAll(l);
      await l.recordAttempt({ runId: run, dataset: D, key: 'a', attempt: 1, kind: 'transient', code: '20000' });
      await l.recordResult({ rowid: ra!.rowid, runId: run, status: 'failed', retryable: true, attempts: 2, code: '20000', reason: 'gave up' },
        { runId: run, dataset: D, key: 'a', attempt: 2, kind: 'transient', code: '20000', durationMs: 12 });
      await l.recordResults([
        { result: { rowid: rb!.rowid, runId: run, status: 'failed', attempts: 1, code: '40004', subCode: 'INVALID_PARAMETER', reason: 'bad' } },
        { result: { rowid: rc!.rowid, runId: run, status: 'pending', attempts: 1, code: '40002', reason: 'run-fatal' } },
      ]);
      assert.equal((await l.record(D, 'a'))?.biz_content, '{"k":"a","s":"s"}');
      assert.equal((await l.record(D, 'a'))?.retryable, 1);
      assert.equal((await l.record(D, 'b'))?.biz_content, null);
      assert.equal((await l.record(D, 'c'))?.biz_content, '{"k":"c","s":"s"}');
      assert.deepEqual(await l.runOutcomes(run, D), { pending: 1, uploaded: 0, failed: 2 });
      assert.deepEqual(await l.failuresBySubCode(), [
        { dataset: D, merchant: '', subCode: '20000', count: 1, example: 'gave up', refused: false },
        { dataset: D, merchant: '', subCode: 'INVALID_PARAMETER', count: 1, example: 'bad', refused: true },
      ].sort((x, y) => y.count - x.count || (x.subCode < y.subCode ? -1 : 1)));
      assert.equal(await l.reviveRetryable(D), 1);
      assert.equal(await l.reviveRetryable(D), 0);
      assert.equal(await l.countPending(D), 2);
      assert.deepEqual(await l.totals(), [{ dataset: D, merchant: '', status: 'failed', count: 1 }, { dataset: D, merchant: '', status: 'pending', count: 2 }]);
      assert.deepEqual(await l.outstanding(D, run), { pending: 2, staging: 0 });
    }));

    test('an export session: results kept per row, read back in staging order; other sessions\' pending rows dropped', () => withLedger(a, async (l) => {
      const Q = 'agreement-queries';
      const run = await l.startRun(Q, 't', ['q.csv'], false);
      await l.stage(run, Q, [row('u1', 's1'), row('u2', 's1'), row('u3', 's0')], 'always');
      assert.equal(await l.dropPendingOutside(Q, 's1'), 1);
      const rows = await claimAll(l, Q);
      await l.recordResults(rows.map((r) => ({ result: { rowid: r.rowid, runId: run, status: 'uploaded' as const, attempts: 1, result: `{"answer":"${r.key}"}` } })));
      const out: (string | null)[] = [];
      for await (const result of l.sessionResults(Q, 's1')) out.push(result);
      assert.deepEqual(out, ['{"answer":"u1"}', '{"answer":"u2"}']);
    }));

    test('a ledger belongs to one target: same is same, another is refused, a rebind marks what it held', () => withLedger(a, async (l, again) => {
      const t = { gateway: 'https://openapi.alipay.com/gateway.do', appId: '2021000000000001' };
      assert.deepEqual(await l.bindTarget(t), { state: 'new' });
      assert.deepEqual(await l.bindTarget(t), { state: 'same' });
      const run = await l.startRun(D, 't', [], false);
      await l.stage(run, D, [row('a', 's'), row('b', 's')]);
      const [first] = await claimAll(l);
      await l.recordResult({ rowid: first!.rowid, runId: run, status: 'uploaded', attempts: 1 });
      const other = { ...t, appId: '2021000000000002' };
      await assert.rejects(async () => l.bindTarget(other), { code: 'SYNC_LEDGER_TARGET' });
      await assert.rejects(async () => l.bindTarget(other, { rebind: true, dryRun: true }), { code: 'SYNC_LEDGER_TARGET' });
      const l2 = await again();
      try {
        const r = await l2.bindTarget(other, { rebind: true });
        assert.equal(r.state, 'rebound');
        assert.equal(r.rebound, 1);
        assert.equal((await l2.record(D, 'a'))?.last_code, 'REBOUND');
        assert.equal((await l2.record(D, 'b'))?.status, 'failed');
        assert.equal(await l2.countPending(D), 0);
      } finally {
        await l2.close();
      }
    }));

    test('the hash secret: the same key hashes alike across connections; another key is refused, or rebound afresh', () => withLedger(a, async (l, again) => {
      const h = l.hash('x');
      const same = await again();
      try {
        assert.equal(same.hash('x'), h);
        assert.equal(same.secretSource, 'unwrapped');
      } finally {
        await same.close();
      }
      await assert.rejects(async () => again({ hashKey: randomBytes(64) }), { code: 'SYNC_LEDGER_KEY' });
      const rebound = await again({ hashKey: randomBytes(64), rebind: true });
      try {
        assert.equal(rebound.secretSource, 'rebound');
        assert.notEqual(rebound.hash('x'), h);
      } finally {
        await rebound.close();
      }
    }));

    test('agreements: answers stored with history; a notice applied once, a resend changes nothing, an older one is kept as history only', () => withLedger(a, async (l) => {
      const base = { agreement_no: '2024001', alipay_user_id: '2088000000000001', personal_product_code: 'GENERAL_WITHHOLDING_P', sign_scene: 'INDUSTRY|X' };
      assert.deepEqual(await l.upsertAgreement({ ...base, status: 'TEMP', fields: { sign_time: '2024-05-01 10:00:00' } }, 'effect', 1), { changed: true });
      assert.deepEqual(await l.upsertAgreement({ ...base, status: 'TEMP', fields: { sign_time: '2024-05-01 10:00:00' } }, 'query', 1), { changed: false });
      const normal = { ...base, status: 'NORMAL', fields: { valid_time: '2024-05-02 10:00:00' } };
      assert.deepEqual(await l.applyNotification('n1', normal, '2024-05-02 10:00:01'), { result: 'applied', changed: true });
      assert.deepEqual(await l.applyNotification('n1', normal, '2024-05-02 10:00:01'), { result: 'resend', changed: false });
      const unsign = { ...base, status: 'UNSIGN', fields: { unsign_time: '2024-05-03 10:00:00' } };
      assert.deepEqual(await l.applyNotification('n2', unsign, '2024-05-03 10:00:01'), { result: 'applied', changed: true });
      assert.deepEqual(await l.applyNotification('n3', { ...normal }, '2024-05-04 10:00:00'), { result: 'stale', changed: false });
      const got = await l.agreement('2024001');
      assert.equal(got?.status, 'UNSIGN');
      assert.equal(got?.since, '2024-05-03 10:00:00');
      assert.deepEqual(got?.history.map((h) => [h.status, h.source, h.applied, h.notify_id]), [
        ['TEMP', 'effect', true, null], ['NORMAL', 'notify', true, 'n1'], ['UNSIGN', 'notify', true, 'n2'], ['NORMAL', 'notify', false, 'n3'],
      ]);
      assert.equal(await l.agreement('nope'), undefined);
    }));

    test('refused rows stay refused while unchanged, --retry-failed restages them; retry revives kept bodies; superseded lines are listed', () => withLedger(a, async (l) => {
      const run = await l.startRun(D, 't', ['a.csv'], false);
      await l.stage(run, D, [row('a', 's1'), row('b', 's1'), row('c', 's1', undefined, 5), row('c', 's0', undefined, 6)]);
      const rows = await claimAll(l);
      const byKey = new Map(rows.map((r) => [r.key, r]));
      await l.recordResults([
        { result: { rowid: byKey.get('a')!.rowid, runId: run, status: 'failed', attempts: 1, code: '40004', subCode: 'ILLEGAL_ARGUMENT', reason: 'bad', traceId: 'tr-a' },
          attempt: { runId: run, dataset: D, key: 'a', attempt: 1, kind: 'row-fatal', code: '40004', subCode: 'ILLEGAL_ARGUMENT', traceId: 'tr-a', snapshot: 's1' } },
        { result: { rowid: byKey.get('b')!.rowid, runId: run, status: 'failed', attempts: 1, code: '40004', subCode: 'OTHER', reason: 'no', keepBizContent: true } },
        { result: { rowid: byKey.get('c')!.rowid, runId: run, status: 'uploaded', attempts: 1, code: '10000', traceId: 'tr-c' } },
      ]);
      const run2 = await l.startRun(D, 't', ['a.csv'], false);
      assert.deepEqual(await l.stage(run2, D, [row('a', 's1'), row('b', 's1')]), { staged: 0, superseded: 0, unchanged: 0, refused: 2 });
      assert.equal((await l.record(D, 'a'))?.run_id, run2, 'still refused: noted as this run\'s');
      const run3 = await l.startRun(D, 't', ['a.csv'], false);
      assert.deepEqual(await l.stage(run3, D, [row('a', 's1')], 'snapshot', { subCode: 'ILLEGAL_ARGUMENT' }), { staged: 1, superseded: 0, unchanged: 0, refused: 0 });
      assert.equal((await l.record(D, 'a'))?.status, 'pending');
      // retry: b's body was kept (no personal data), so it is revived; a row without one is named by file
      assert.deepEqual(await l.reviveFailed(D, { subCode: 'OTHER' }), { revived: 1, withoutBody: [] });
      assert.equal((await l.record(D, 'b'))?.status, 'pending');
      const listed: { state: string; key: string | null; line: number | null; reason: string | null }[] = [];
      for await (const r of l.rows({ dataset: D, statuses: ['superseded'] })) listed.push({ state: r.state, key: r.key, line: r.line, reason: r.reason });
      assert.deepEqual(listed, [{ state: 'superseded', key: 'c', line: 6, reason: 'superseded by snapshot s1' }]);
      const all: string[] = [];
      for await (const r of l.rows({ file: 'a.csv' })) all.push(`${r.state}:${r.key}`);
      assert.deepEqual(all, ['pending:a', 'pending:b', 'uploaded:c', 'superseded:c']);
      const [story] = await l.keyStory('a', D);
      assert.equal(story?.current.trace_id, 'tr-a');
      assert.deepEqual(story?.attempts.map((x) => [x.kind, x.trace_id, x.snapshot]), [['row-fatal', 'tr-a', 's1']]);
      assert.equal(story?.body, '{"k":"a","s":"s1"}');
      assert.equal((await l.keyStory('c'))[0]?.current.trace_id, 'tr-c');
    }));

    test('a run\'s timing: seconds, latency, codes and keys add up across batches and read back', () => withLedger(a, async (l) => {
      const run = await l.startRun(D, 't', [], false);
      const sec = (second: number, requests: number) => ({ second, requests, ok: requests, retried: 0, failed: 0, fatal: 0, slowDowns: 0, rate: 10, latencyMs: 20 * requests, inFlight: 2 });
      await l.recordTiming(run, { seconds: [sec(100, 3)], latency: [{ bucket: 30, count: 3 }], codes: [{ kind: 'success', code: '10000', subCode: '', count: 3 }],
        keys: [{ list: 'slowest', key: 'k1', attempt: 1, durationMs: 40, code: '10000', subCode: null, reason: null, at: '2026-01-01T00:00:00.000Z' }] });
      await l.recordTiming(run, { seconds: [sec(100, 2), sec(101, 1)], latency: [{ bucket: 30, count: 3 }], codes: [{ kind: 'success', code: '10000', subCode: '', count: 3 }] });
      const t = await l.runTiming(run);
      assert.deepEqual(t.seconds.map((x) => [x.second, x.requests, x.latencyMs]), [[100, 5, 100], [101, 1, 20]]);
      assert.deepEqual(t.latency, [{ bucket: 30, count: 6 }]);
      assert.deepEqual(t.codes, [{ kind: 'success', code: '10000', subCode: '', count: 6 }]);
      assert.deepEqual(t.keys.map((k) => [k.list, k.key, k.durationMs]), [['slowest', 'k1', 40]]);
    }));

    test('status counts: agreements by status, notifications received and stale', () => withLedger(a, async (l) => {
      const base = { agreement_no: 'N1', alipay_user_id: '2088000000000001', fields: { valid_time: '2024-05-02 10:00:00' } };
      await l.applyNotification('x1', { ...base, status: 'NORMAL' }, '2024-05-02 10:00:01');
      await l.applyNotification('x2', { ...base, status: 'UNSIGN', fields: { unsign_time: '2024-05-03 10:00:00' } }, '2024-05-03 10:00:01');
      await l.applyNotification('x3', { ...base, status: 'NORMAL' }, '2024-05-04 10:00:00');
      await l.upsertAgreement({ agreement_no: 'N2', status: 'TEMP', fields: {} }, 'effect', 1);
      assert.deepEqual(await l.agreementCounts(), [{ status: 'TEMP', count: 1 }, { status: 'UNSIGN', count: 1 }]);
      const n = await l.notificationCounts();
      assert.deepEqual([n.received, n.stale], [3, 1]);
      assert.ok(n.lastReceivedAt !== null);
    }));

    test('merchants: one key under two merchants is two rows, claimed per merchant; counts by merchant; learned rates and quota stops kept', () => withLedger(a, async (l) => {
      const run = await l.startRun(D, 't', [], false);
      const m = (merchant: string, key: string) => ({ ...row(key, 's1'), merchant });
      assert.deepEqual(await l.stage(run, D, [m('mA', 'k'), m('mB', 'k'), m('', 'k'), m('mA', 'k2')]), { staged: 4, superseded: 0, unchanged: 0, refused: 0 });
      assert.deepEqual(await l.pendingByMerchant(D), [{ merchant: '', count: 1 }, { merchant: 'mA', count: 2 }, { merchant: 'mB', count: 1 }]);
      const a1 = await l.claimPending(D, 0, 10, 'mA');
      assert.deepEqual(a1.map((r) => [r.merchant, r.key]), [['mA', 'k'], ['mA', 'k2']]);
      await l.recordResults(a1.map((r) => ({ result: { rowid: r.rowid, runId: run, status: 'uploaded' as const, attempts: 1 }, attempt: { runId: run, dataset: D, merchant: 'mA', key: r.key, attempt: 1, kind: 'success' } })));
      assert.deepEqual(await l.runOutcomesByMerchant(run, D), [
        { merchant: '', status: 'pending', count: 1 }, { merchant: 'mA', status: 'uploaded', count: 2 }, { merchant: 'mB', status: 'pending', count: 1 },
      ]);
      assert.equal((await l.record(D, 'k', 'mA'))?.status, 'uploaded');
      assert.equal((await l.record(D, 'k', 'mB'))?.status, 'pending');
      assert.equal((await l.record(D, 'k'))?.status, 'pending', 'no merchant: its own row');
      const key = { appId: 'app', merchant: 'mA', method: 'zhima.merchant.borrow.entity.upload' };
      await l.saveLearnedRates([{ ...key, rate: 12.5, quota: 13, noise: 0 }], run);
      const [learned] = await l.learnedRates('app', key.method);
      assert.deepEqual([learned?.merchant, learned?.rate, learned?.quota], ['mA', 12.5, 13]);
      assert.ok(learned?.updatedAt);
      await l.saveQuotaStop({ ...key, until: '2026-01-02T16:00:00.000Z', since: '2026-01-02T10:00:00.000Z', reason: 'daily' });
      assert.deepEqual((await l.quotaStops('app')).map((q) => [q.merchant, q.until]), [['mA', '2026-01-02T16:00:00.000Z']]);
      await l.clearQuotaStop(key);
      assert.deepEqual(await l.quotaStops(), []);
    }));

    test('certificates kept after a rotation, and when the ones in use end', () => withLedger(a, async (l, again) => {
      assert.deepEqual(await l.keptCertificates(), []);
      assert.equal(await l.certificateExpiries(), undefined);
      await l.keepCertificate('sn2', 'PEM 2');
      await l.keepCertificate('sn1', 'PEM 1');
      await l.setCertificateExpiries('[{"sn":"sn1"}]');
      const other = await again();
      try {
        assert.deepEqual(await other.keptCertificates(), ['PEM 1', 'PEM 2']);
        assert.equal(await other.certificateExpiries(), '[{"sn":"sn1"}]');
      } finally {
        await other.close();
      }
    }));

    test('agreements of apps on OpenID keep the open ids beside the user id', () => withLedger(a, async (l) => {
      await l.upsertAgreement({ agreement_no: 'A1', status: 'NORMAL', alipay_open_id: 'open-1', principal_open_id: 'open-p', fields: {} }, 'query', 1);
      await l.upsertAgreement({ agreement_no: 'A1', status: 'NORMAL', fields: { x: '1' } }, 'query', 1);
      const got = await l.agreement('A1');
      assert.deepEqual([got?.alipay_open_id, got?.principal_open_id, got?.alipay_user_id], ['open-1', 'open-p', null]);
    }));

    test('a dry run stages, plans and leaves no trace', () => withLedger(a, async (l, again) => {
      const run = await l.startRun(D, 't', [], false);
      await l.stage(run, D, [row('a', 's1')]);
      await uploadAll(l, run);
      const dry = await again({ dryRun: true });
      try {
        await dry.beginDryRun();
        assert.deepEqual(await dry.stage(0, D, [row('a', 's2'), row('b', 's1'), row('a', 's0')]), { staged: 2, superseded: 1, unchanged: 0, refused: 0 });
        assert.deepEqual(await dry.stagedPlan(0, D), { new: 1, changed: 1 });
        await dry.rollbackDryRun();
      } finally {
        await dry.close();
      }
      assert.equal(await l.countPending(D), 0);
      assert.equal(await l.record(D, 'b'), undefined);
      assert.equal((await l.record(D, 'a'))?.snapshot, 's1');
    }));
  });
}
