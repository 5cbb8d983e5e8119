import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Ledger } from '../state/ledger.js';
import { tempDir } from './helpers/tmp.js';

/**
 * An opener on its own thread (its own SQLite connection, as another process would have). It loads the
 * ledger module first, then waits at the barrier: all openers of a round call `new Ledger` at the same moment.
 */
const OPENER = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const { Ledger } = await import(workerData.url);
  const flag = new Int32Array(workerData.barrier);
  Atomics.add(flag, 1, 1);
  Atomics.wait(flag, 0, 0, 10000);
  try {
    const l = new Ledger(workerData.path, { hashKey: Buffer.from(workerData.key) });
    const hash = l.hash('x');
    l.close();
    parentPort.postMessage({ ok: true, hash });
  } catch (e) {
    parentPort.postMessage({ ok: false, message: e.message, code: e.code });
  }
})();`;

type Outcome = { ok: true; hash: string } | { ok: false; message: string; code?: string };

async function openTogether(path: string, n: number, key: Buffer): Promise<Outcome[]> {
  const barrier = new SharedArrayBuffer(8);
  const flag = new Int32Array(barrier);
  const url = new URL('../state/ledger.js', import.meta.url).href;
  const workers = Array.from({ length: n }, () => new Worker(OPENER, { eval: true, workerData: { url, path, key, barrier } }));
  try {
    const outcomes = Promise.all(workers.map((w) => new Promise<Outcome>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`opener exited with code ${code} before answering`)));
    })));
    const end = Date.now() + 20_000;
    while (Atomics.load(flag, 1) < n) {
      if (Date.now() > end) throw new Error('the openers did not get ready');
      await new Promise((r) => setTimeout(r, 2));
    }
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('openers did not finish in 30 s')), 30_000)));
    try {
      return await Promise.race([outcomes, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

test('processes creating the same new ledger at the same moment all succeed and share one hash secret', async () => {
  const dir = tempDir();
  const key = randomBytes(32);
  for (let round = 0; round < 20; round++) {
    const path = join(dir, `l${round}.db`);
    const outcomes = await openTogether(path, 2 + (round % 3), key);
    for (const o of outcomes) assert.ok(o.ok, `round ${round}: ${o.ok ? '' : `${o.code ?? ''} ${o.message}`}`);
    const hashes = new Set(outcomes.map((o) => (o.ok ? o.hash : '')));
    assert.equal(hashes.size, 1, `round ${round}: every opener got the same secret`);
    const l = new Ledger(path, { hashKey: key });
    assert.equal(l.hash('x'), [...hashes][0]);
    l.close();
  }
});

test('ledger files are private: the .db, -wal and -shm are 0600 whatever the umask', () => {
  const dir = tempDir();
  const path = join(dir, 'l.db');
  const old = process.umask(0o022);
  try {
    const l = new Ledger(path, { hashKey: randomBytes(32) });
    const run = l.startRun('borrow-entities', 't', [], false);
    l.stage(run, 'borrow-entities', [{ key: 'a', snapshot: "1", bizContent: '{"id_card":"110101199003074514"}', file: 'f.csv', line: 2 }]);
    for (const f of [path, `${path}-wal`, `${path}-shm`]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    l.close();
    assert.equal(statSync(path).mode & 0o777, 0o600);
  } finally {
    process.umask(old);
  }
});
