import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { hash as oneShotHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../state/ledger.js';
import { BackgroundStager } from '../state/sqlite/stage-worker.js';
import { meta } from './helpers/ledger.js';
import { tempDir } from './helpers/tmp.js';

const D = 'borrow-entities';


/** Every byte of the ledger's files (.db, and -wal/-shm if any). */
function ledgerBytes(dir: string): Buffer {
  return Buffer.concat(readdirSync(dir).filter((f) => f.startsWith('l.db')).map((f) => readFileSync(join(dir, f))));
}

/** How an older alipay-sync hashed: the secret's base64 text, NUL, the payload. */
function legacyHash(secret: Buffer, payload: string): string {
  return oneShotHash('sha256', secret.toString('base64') + '\u0000' + payload, 'base64url').slice(0, 22);
}

test('the hash secret is stored only wrapped under the key; the same key gets the same hashes back', () => {
  const dir = tempDir();
  const path = join(dir, 'l.db');
  const key = randomBytes(48);
  const l = new Ledger(path, { hashKey: key });
  assert.equal(l.secretSource, 'created');
  const secret = l.hashSecret!;
  const h = l.hash('payload');
  assert.equal(h, legacyHash(secret, 'payload'), 'hashes are computed as before: stored hashes stay comparable');
  l.close();
  const m = meta(path);
  assert.equal(m.hash_secret, undefined, 'no clear secret');
  assert.equal(Buffer.from(m.hash_secret_wrapped!, 'base64').length, 12 + 16 + 32);
  const bytes = ledgerBytes(dir);
  assert.equal(bytes.indexOf(secret), -1);
  assert.equal(bytes.indexOf(Buffer.from(secret.toString('base64'))), -1);
  const again = new Ledger(path, { hashKey: key });
  assert.equal(again.secretSource, 'unwrapped');
  assert.equal(again.hash('payload'), h);
  again.close();
});

test('a legacy ledger\'s clear secret is wrapped in place, its hashes stay comparable, and the clear copy leaves no trace', () => {
  const dir = tempDir();
  const path = join(dir, 'l.db');
  new Ledger(path).close();
  // What an older version left: the secret in clear in meta.
  const secret = randomBytes(32);
  const db = new Database(path);
  db.prepare("INSERT INTO meta (key, value) VALUES ('hash_secret', ?)").run(secret.toString('base64'));
  db.close();
  assert.notEqual(ledgerBytes(dir).indexOf(Buffer.from(secret.toString('base64'))), -1, 'the test plants the clear secret');

  const key = randomBytes(48);
  const l = new Ledger(path, { hashKey: key });
  assert.equal(l.secretSource, 'wrapped-legacy');
  assert.equal(l.hash('x'), legacyHash(secret, 'x'));
  l.close();
  const m = meta(path);
  assert.equal(m.hash_secret, undefined);
  assert.ok(m.hash_secret_wrapped);
  assert.equal(ledgerBytes(dir).indexOf(Buffer.from(secret.toString('base64'))), -1, 'secure_delete and the truncated WAL leave no clear copy');
  const again = new Ledger(path, { hashKey: key });
  assert.equal(again.secretSource, 'unwrapped');
  assert.equal(again.hash('x'), legacyHash(secret, 'x'));
  again.close();
});

test('without the key the ledger opens (status, notify) but refuses to hash', () => {
  const path = join(tempDir(), 'l.db');
  new Ledger(path, { hashKey: randomBytes(32) }).close();
  for (const l of [new Ledger(path), new Ledger(path, { readonly: true })]) {
    assert.equal(l.hashSecret, null);
    assert.deepEqual(l.totals(), []);
    assert.throws(() => l.hash('x'), (e: Error & { code?: string }) => e.code === 'SYNC_LEDGER' && /^this ledger needs the app private key/.test(e.message));
    l.close();
  }
});

test('another app private key is refused (SYNC_LEDGER_KEY) without leaking key material; rebind starts comparing afresh', () => {
  const path = join(tempDir(), 'l.db');
  const key = randomBytes(48);
  const first = new Ledger(path, { hashKey: key });
  const secret = first.hashSecret!;
  const before = first.hash('row');
  first.close();

  const other = randomBytes(48);
  let message = '';
  assert.throws(() => new Ledger(path, { hashKey: other }), (e: Error & { code?: string }) => {
    message = e.message;
    return e.code === 'SYNC_LEDGER_KEY';
  });
  assert.match(message, /^ledger .*l\.db was written with another app private key: its content hashes cannot be checked with this one\. Use the key it was written with, or pass --rebind-ledger/);
  assert.match(message, /every row then counts as changed and is sent once more/);
  for (const secretish of [key, other, secret]) {
    for (const enc of ['base64', 'hex', 'base64url'] as const) assert.ok(!message.includes(secretish.toString(enc).slice(0, 12)));
  }

  // A dry run with rebind plans with a fresh secret but stores nothing: the old key still opens it.
  const dry = new Ledger(path, { hashKey: other, rebind: true, dryRun: true });
  assert.equal(dry.secretSource, 'rebound-in-memory');
  assert.notEqual(dry.hash('row'), before);
  dry.close();
  const still = new Ledger(path, { hashKey: key });
  assert.equal(still.hash('row'), before);
  still.close();

  const rebound = new Ledger(path, { hashKey: other, rebind: true });
  assert.equal(rebound.secretSource, 'rebound');
  const after = rebound.hash('row');
  assert.notEqual(after, before);
  rebound.close();
  const reopened = new Ledger(path, { hashKey: other });
  assert.equal(reopened.hash('row'), after);
  reopened.close();
  assert.throws(() => new Ledger(path, { hashKey: key }), (e: Error & { code?: string }) => e.code === 'SYNC_LEDGER_KEY');
});

test('the staging thread hashes with the secret handed over (it has no key of its own)', async () => {
  const path = join(tempDir(), 'l.db');
  const l = new Ledger(path, { hashKey: randomBytes(32) });
  const run = l.startRun(D, 't', [], false);
  const stager = new BackgroundStager({ ledgerPath: path, hashSecret: l.hashSecret!, runId: run, dataset: D, policy: 'snapshot', dryRun: false });
  try {
    await stager.stage({ file: 'f.csv', keys: ['a'], snapshots: ['1'], bizContents: ['{"a":1}'], lines: [2], rejects: [] });
    await stager.finish();
  } finally {
    await stager.abort();
  }
  assert.equal(l.record(D, 'a')!.hash, l.hash('{"a":1}'));
  l.close();
});
