import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Ledger } from '../state/ledger.js';
import type { LedgerPort, Mode } from '../state/port.js';
import { tempDir } from './helpers/tmp.js';

const D = 'agreement-queries';

/**
 * Code written against the port in either mode: it awaits every call and walks iterators with `for await`, so the
 * same function runs on the SQLite adapter (plain values) and would on an async one (promises, async iterators).
 */
async function exportSession(l: LedgerPort<Mode>, runId: number, session: string): Promise<(string | null)[]> {
  await l.stage(runId, D, [
    { key: 'u1', snapshot: session, bizContent: '{"u":1}', file: 'q.csv', line: 2 },
    { key: 'u2', snapshot: session, bizContent: '{"u":2}', file: 'q.csv', line: 3 },
  ], 'always');
  for (let cursor = 0; ;) {
    const rows = await l.claimPending(D, cursor, 10);
    if (rows.length === 0) break;
    for (const r of rows) {
      cursor = r.rowid;
      await l.recordResult({ rowid: r.rowid, runId, status: 'uploaded', attempts: 1, code: '10000', result: `{"answer":"${r.key}"}` });
    }
  }
  const out: (string | null)[] = [];
  for await (const result of l.sessionResults(D, session)) out.push(result);
  return out;
}

test('the SQLite Ledger is a LedgerPort (sync) and serves code written for either mode', async () => {
  const ledger = new Ledger(join(tempDir(), 'l.db'), { hashKey: randomBytes(32) });
  try {
    const sync: LedgerPort = ledger; // what pipeline/ may hold instead of the class
    const either: LedgerPort<Mode> = ledger;
    const run = sync.startRun(D, 't', ['q.csv'], false); // sync: a plain number, no await
    assert.equal(typeof run, 'number');
    assert.deepEqual(await exportSession(either, run, 's1'), ['{"answer":"u1"}', '{"answer":"u2"}']);
    assert.deepEqual(sync.runOutcomes(run, D), { pending: 0, uploaded: 2, failed: 0 });
    assert.equal(await either.countPending(D), 0);
  } finally {
    ledger.close();
  }
});
