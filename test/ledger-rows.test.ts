/** What `alipay-sync rows` reads through the port (state/sqlite/rows.ts): filters, streaming, one key's story, retry's revival. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Ledger, type LedgerPort, type RowView, type StageRow } from '../state/ledger.js';
import { tempDir } from './helpers/tmp.js';

const D = 'borrow-entities';
const T1 = '2024-05-01 10:00:00';
const T2 = '2024-05-02 10:00:00';

function row(key: string, snapshot: string, file = '/data/points_1.csv', line = 2): StageRow {
  return { key, snapshot, bizContent: JSON.stringify({ entity_code: key, upload_time: snapshot }), file, line };
}

/**
 * A ledger after two nights: run 1 uploads a, refuses b (INFOSEC, body kept), gives up on c (gateway trouble),
 * leaves d pending, rejects line 9 and supersedes an older line of a; run 2 reads b again unchanged (still refused)
 * and an older line of e, which it uploads.
 */
function night(): { ledger: Ledger; run1: number; run2: number } {
  const ledger = new Ledger(join(tempDir(), 'l.db'), { hashKey: randomBytes(32) });
  const run1 = ledger.startRun(D, 'upload', [], false);
  ledger.stage(run1, D, [row('a', T1, undefined, 2), row('b', T1, undefined, 3), row('c', T1, undefined, 4), row('d', T1, undefined, 5), row('a', '2024-04-01 00:00:00', undefined, 6)]);
  ledger.addRejects(run1, D, [{ file: '/data/points_1.csv', line: 9, field: 'latitude', reason: 'must be a decimal number from -90 to 90' }]);
  const [a, b, c] = ledger.claimPending(D, 0, 10);
  ledger.recordResults([
    { result: { rowid: a!.rowid, runId: run1, status: 'uploaded', attempts: 1, code: '10000', traceId: 'trace-a' } },
    {
      result: { rowid: b!.rowid, runId: run1, status: 'failed', retryable: false, keepBizContent: true, attempts: 1, code: '40004', subCode: 'INFOSEC_VERIFY_FAILED', reason: 'sensitive', traceId: 'trace-b' },
      attempt: { runId: run1, dataset: D, key: 'b', attempt: 1, kind: 'row-fatal', code: '40004', subCode: 'INFOSEC_VERIFY_FAILED', durationMs: 40, traceId: 'trace-b', snapshot: T1 },
    },
    { result: { rowid: c!.rowid, runId: run1, status: 'failed', retryable: true, attempts: 5, code: '20000', subCode: 'isp.unknow-error', reason: 'gave up' } },
  ]);
  const run2 = ledger.startRun(D, 'upload', [], false);
  const counts = ledger.stage(run2, D, [row('b', T1, '/data/points_2.csv', 3), row('e', T2, '/data/points_2.csv', 4), row('e', T1, '/data/points_2.csv', 5)]);
  assert.deepEqual(counts, { staged: 1, superseded: 1, unchanged: 0, refused: 1 });
  return { ledger, run1, run2 };
}

const keys = (rows: Iterable<RowView>) => [...rows].map((r) => `${r.state}:${r.key ?? r.line}`);

test('rows by state and filter: records in staging order, then rejected and superseded lines; a filter a kind cannot match leaves it out', () => {
  const { ledger, run1, run2 } = night();
  try {
    assert.deepEqual(keys(ledger.rows()), [
      'uploaded:a', 'failed:b', 'failed:c', 'pending:d', 'pending:e', 'rejected:9', 'superseded:a', 'superseded:e',
    ]);
    assert.deepEqual(keys(ledger.rows({ statuses: ['failed'] })), ['failed:b', 'failed:c']);
    assert.deepEqual(keys(ledger.rows({ statuses: ['failed'], subCode: 'INFOSEC_VERIFY_FAILED' })), ['failed:b']);
    assert.deepEqual(keys(ledger.rows({ subCode: 'INFOSEC_VERIFY_FAILED' })), ['failed:b'], 'rejected and superseded lines have no sub_code');
    assert.deepEqual(keys(ledger.rows({ key: 'a' })), ['uploaded:a', 'superseded:a'], 'rejected lines have no key');
    // run: records it staged or last sent; lines it read. b was read again by run 2 (still refused): it is run 2's now
    assert.deepEqual(keys(ledger.rows({ run: run1 })), ['uploaded:a', 'failed:b', 'failed:c', 'pending:d', 'rejected:9', 'superseded:a']);
    assert.deepEqual(keys(ledger.rows({ run: run2 })), ['failed:b', 'pending:e', 'superseded:e']);
    // file: as named, or by its last part; LIKE's wildcards in a name are literal
    assert.deepEqual(keys(ledger.rows({ file: 'points_2.csv' })), ['failed:b', 'pending:e', 'superseded:e']);
    assert.deepEqual(keys(ledger.rows({ file: '/data/points_1.csv', statuses: ['rejected'] })), ['rejected:9']);
    assert.deepEqual(keys(ledger.rows({ file: 'points%.csv' })), []);
    assert.deepEqual(keys(ledger.rows({ dataset: 'worker-contracts' })), []);

    const [b] = ledger.rows({ key: 'b' });
    assert.deepEqual(
      [b!.state, b!.sub_code, b!.trace_id, b!.retryable, b!.body_kept, b!.file, b!.run_id, b!.last_run_id],
      ['failed', 'INFOSEC_VERIFY_FAILED', 'trace-b', false, true, '/data/points_2.csv', run2, run1],
    );
    const [rejected] = ledger.rows({ statuses: ['rejected'] });
    assert.equal(rejected!.reason, 'latitude: must be a decimal number from -90 to 90');
    const superseded = [...ledger.rows({ statuses: ['superseded'] })];
    assert.deepEqual(superseded.map((s) => [s.key, s.snapshot, s.line, s.reason]), [
      ['a', '2024-04-01 00:00:00', 6, `superseded by snapshot ${T1}`],
      ['e', T1, 5, `superseded by snapshot ${T2}`],
    ]);
  } finally {
    ledger.close();
  }
});

test('rows stream from a live SQLite cursor: nothing is collected (the connection is busy until the iterator ends)', () => {
  const { ledger } = night();
  try {
    const it = ledger.rows();
    assert.equal(Array.isArray(it), false);
    assert.equal(it.next().done, false);
    // A write on the connection while the cursor is open is refused by SQLite: the rows are being read, not held.
    assert.throws(() => ledger.recordAttempt({ runId: 1, dataset: D, key: 'x', attempt: 1, kind: 'transient' }), /busy/);
    it.return?.();
    ledger.recordAttempt({ runId: 1, dataset: D, key: 'x', attempt: 1, kind: 'transient' });
  } finally {
    ledger.close();
  }
});

test('one key\'s story: its current state, attempts with trace ids and snapshots, superseded lines, the kept body', async () => {
  const { ledger, run1 } = night();
  try {
    const [b] = ledger.keyStory('b');
    assert.equal(b!.dataset, D);
    assert.equal(b!.current.state, 'failed');
    assert.deepEqual(b!.attempts.map((a) => [a.run_id, a.attempt, a.kind, a.sub_code, a.trace_id, a.snapshot]), [[run1, 1, 'row-fatal', 'INFOSEC_VERIFY_FAILED', 'trace-b', T1]]);
    assert.match(b!.body!, /"entity_code":"b"/);
    const [a] = ledger.keyStory('a', D);
    assert.deepEqual([a!.current.state, a!.current.trace_id, a!.current.uploaded_snapshot, a!.body], ['uploaded', 'trace-a', T1, null]);
    assert.deepEqual(a!.superseded.map((s) => [s.snapshot, s.line, s.kept_snapshot]), [['2024-04-01 00:00:00', 6, T1]]);
    assert.deepEqual(ledger.keyStory('nobody'), []);
    // Code written against the port (either adapter) reads it the same way
    const port: LedgerPort<'sync' | 'async'> = ledger;
    const rows: string[] = [];
    for await (const r of port.rows({ statuses: ['pending'] })) rows.push(r.key!);
    assert.deepEqual(rows, ['d', 'e']);
    assert.equal((await port.keyStory('c'))[0]!.current.retryable, true);
  } finally {
    ledger.close();
  }
});

test('retry revives the failed rows whose body was kept (by sub_code or key), and names the files of the others', () => {
  const { ledger } = night();
  try {
    assert.deepEqual(ledger.reviveFailed(D, { subCode: 'NOTHING_LIKE_IT' }), { revived: 0, withoutBody: [] });
    assert.deepEqual(ledger.reviveFailed(D, { subCode: 'INFOSEC_VERIFY_FAILED' }), { revived: 1, withoutBody: [] });
    assert.deepEqual(keys(ledger.rows({ statuses: ['pending'] })), ['pending:b', 'pending:d', 'pending:e']);
    // a failed row without its body (personal data): named by file, not revived
    const [c] = ledger.claimPending(D, 0, 10).filter((p) => p.key === 'b');
    ledger.recordResult({ rowid: c!.rowid, runId: 2, status: 'failed', retryable: false, keepBizContent: false, attempts: 2, code: '40004', subCode: 'INVALID_PARAMETER' });
    assert.deepEqual(ledger.reviveFailed(D), { revived: 1, withoutBody: [{ file: '/data/points_2.csv', rows: 1 }] });
    assert.deepEqual(keys(ledger.rows({ statuses: ['failed'] })), ['failed:b']);
  } finally {
    ledger.close();
  }
});

test('the rows table on a terminal fits its width (the reason cut, never a wrapped line); csv keeps the reason whole', async () => {
  const { printRows } = await import('../pipeline/rows.js');
  const { displayWidth } = await import('../pipeline/table.js');
  const path = join(tempDir(), 'l.db');
  const l = new Ledger(path, { hashKey: randomBytes(32) });
  const run = l.startRun('borrow-entities', 'upload borrow-entities p.csv', ['/data/exports/merchant-a/points-2026-11-21.csv'], false);
  l.stage(run, 'borrow-entities', [0, 1, 2].map((i) => ({ key: `power_bank/E00000${i}`, snapshot: '2024-05-01 10:00:00', bizContent: '{}', file: '/data/exports/merchant-a/points-2026-11-21.csv', line: i + 2 })));
  const long = 'INFOSEC_VERIFY_FAILED: Alipay found sensitive content in the text (信息含敏感内容): edit entity_name/address_desc/rent_desc '.repeat(3);
  for (const r of l.claimPending('borrow-entities', 0, 10)) l.recordResult({ rowid: r.rowid, runId: run, status: 'failed', attempts: 1, code: '40004', subCode: 'INFOSEC_VERIFY_FAILED', reason: long });
  l.close();
  const list = async (format: 'table' | 'csv', width?: number) => {
    let text = '';
    const out = { write: (t: string) => ((text += t), true), drain: async () => {}, closed: () => false, ...(width ? { width } : {}) };
    await printRows({ ledgerPath: path, filter: {}, format, out, note: () => {} });
    return text;
  };
  for (const width of [79, 99, 159]) {
    const lines = (await list('table', width)).trimEnd().split('\n');
    assert.equal(lines.length, 4);
    for (const line of lines) assert.ok(displayWidth(line) <= width, `${width} columns: ${line}`);
    assert.match(lines[1]!, /^failed \(refused\)\s+.*power_bank\/E000000.*\.\.\.$/, 'state and key kept, the reason cut');
  }
  assert.ok((await list('table')).includes(long.trim()), 'in a pipe the table keeps every cell whole');
  assert.ok((await list('csv', 99)).includes(long.trim()), 'csv: the reason whole');
});
