import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { merchantUserId } from '../pipeline/sandbox/merchants.js';
import { COLUMNS, entities, toCsv, type Row } from './helpers/borrow.js';
import { lastJson, runCli } from './helpers/cli.js';
import { startSandbox, type TestSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';

/** Merchants (ISV mode): an app_auth_token column, fair turns, a refused token that stops its merchant alone. */

const TOKEN_A = '202501BBtokenOfMerchantA000000000000001';
const TOKEN_B = '202501BBtokenOfMerchantB000000000000002';
const TOKEN_C = '202501BBtokenOfMerchantC000000000000003';

function upload(sb: TestSandbox, dir: string, files: string[], extra: string[] = []) {
  return runCli(['upload', 'borrow-entities', ...files, ...sb.flags, '--ledger', join(dir, 'ledger.db'), '--json', '--backoff-ms', '5', ...extra]);
}

function withToken(rows: Row[], token: string): Row[] {
  return rows.map((r) => ({ ...r, app_auth_token: token }));
}

const TOKEN_COLUMNS = [...COLUMNS, 'app_auth_token'];

type Merchants = { merchant: string; id: string; first_seen?: string; uploaded: number; failed: number; pending: number; stopped?: { code: string; sub_code?: string } }[];

test('two merchants with the same entity codes: both uploaded and kept apart, in the ledger, the summary and status; no token anywhere', async () => {
  const sb = await startSandbox({ appAuthTokens: [TOKEN_A, TOKEN_B] });
  const dir = tempDir();
  // merchant A in the file's column; merchant B's rows leave it empty and take --app-auth-token
  const rows = [...withToken(entities(4), TOKEN_A), ...withToken(entities(4), '')];
  const csv = writeFile(dir, 'points.csv', toCsv(rows, TOKEN_COLUMNS));
  const r = await upload(sb, dir, [csv], ['--app-auth-token', TOKEN_B]);
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout);
  assert.deepEqual([s.read, s.uploaded, s.superseded], [8, 8, 0]);
  const merchants = s.merchants as Merchants;
  assert.deepEqual(merchants.map((m) => [m.uploaded, m.pending, m.first_seen]).sort(), [[4, 0, '--app-auth-token'], [4, 0, `${csv}:2`]].sort());
  assert.ok(merchants.every((m) => /^#[\w-]{8}$/.test(m.merchant) && m.id.startsWith(m.merchant.slice(1))));
  // Alipay holds four entities per merchant, the same codes under each
  const held = sb.gateway.borrowEntities.entities();
  for (const token of [TOKEN_A, TOKEN_B]) {
    assert.deepEqual(held.filter((e) => e.merchant === merchantUserId(token)).map((e) => e.entity_code).sort(), entities(4).map((e) => e.entity_code).sort());
  }
  // a rerun sends nothing: each merchant's rows are known as its own
  const again = await upload(sb, dir, [csv], ['--app-auth-token', TOKEN_B]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual([lastJson(again.stdout).unchanged, sb.gateway.requests.length], [8, 8]);
  // status: per merchant
  const status = await runCli(['status', '--ledger', join(dir, 'ledger.db')]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^merchant_dataset\tmerchant\tstatus\trows$/m);
  for (const m of merchants) assert.match(status.stdout, new RegExp(`^borrow-entities\\t${m.merchant}\\tuploaded\\t4$`, 'm'));
  const json = lastJson((await runCli(['status', '--ledger', join(dir, 'ledger.db'), '--json'])).stdout);
  assert.deepEqual((json.totals as { merchant: string; rows: number }[]).map((t) => [t.merchant, t.rows]).sort(), merchants.map((m) => [m.id, 4]).sort());
  // a token is a secret: never in any output, nor in the ledger's bytes
  const ledgerBytes = readFileSync(join(dir, 'ledger.db')).toString('latin1') + readFileSync(join(dir, 'ledger.db-wal'), { flag: 'a+' }).toString('latin1');
  for (const text of [r.stdout, r.stderr, again.stdout, again.stderr, status.stdout, ledgerBytes]) {
    assert.ok(!text.includes('202501BBtoken'), 'no app_auth_token in output or at rest');
  }
});

test('a merchant whose token is refused stops alone (rows pending, reported); when every token is refused the run aborts (exit 3)', async () => {
  const sb = await startSandbox({ appAuthTokens: [TOKEN_A, TOKEN_B], expiredAppAuthTokens: [TOKEN_B] });
  const dir = tempDir();
  const rows = [...withToken(entities(5), TOKEN_B), ...withToken(entities(5), TOKEN_A), ...withToken(entities(5), TOKEN_C)];
  rows.push({ ...entities(1, 50)[0]!, app_auth_token: 'not a token' }); // a space: refused as a row, never echoed
  const csv = writeFile(dir, 'points.csv', toCsv(rows, TOKEN_COLUMNS));
  const rejects = join(dir, 'rejects.csv');
  const r = await upload(sb, dir, [csv], ['--rejects', rejects]);
  assert.equal(r.code, 1, r.stderr);
  const s = lastJson(r.stdout);
  assert.equal(s.status, 'done');
  assert.deepEqual([s.uploaded, s.pending, s.rejected], [5, 10, 1]);
  const byFirst = new Map((s.merchants as Merchants).map((m) => [m.first_seen, m]));
  const [b, a, c] = [byFirst.get(`${csv}:2`)!, byFirst.get(`${csv}:7`)!, byFirst.get(`${csv}:12`)!];
  assert.deepEqual([a.uploaded, a.pending, a.stopped], [5, 0, undefined]);
  assert.deepEqual([b.uploaded, b.pending, b.stopped?.code, b.stopped?.sub_code], [0, 5, '20001', 'aop.app-auth-token-time-out']);
  assert.deepEqual([c.uploaded, c.pending, c.stopped?.sub_code], [0, 5, 'aop.invalid-app-auth-token']);
  assert.match(r.stderr, new RegExp(`merchant ${b.merchant} \\(first named at ${csv}:2\\): aop\\.app-auth-token-time-out: Alipay refused this merchant's app_auth_token`));
  assert.match(r.stdout + r.stderr, new RegExp(`merchant ${c.merchant} \\(${csv}:12\\): uploaded 0, failed 0, pending 5 · stopped: its app_auth_token was refused \\(aop\\.invalid-app-auth-token\\)`));
  // one request each for the refused merchants (the rest of their rows never went out)
  assert.ok(sb.gateway.requests.filter((q) => q.code === '20001').length <= 2 * 8);
  const rej = parse(readFileSync(rejects, 'utf8'), { columns: true, bom: true }) as Record<string, string>[];
  assert.deepEqual(rej.map((x) => [x.field, x.line]), [['app_auth_token', '17']]);
  assert.ok(!r.stderr.includes('not a token') && !readFileSync(rejects, 'utf8').includes('not a token'));

  // only refused merchants left: the run's credentials, as with one --app-auth-token
  const refusedOnly = writeFile(dir, 'refused.csv', toCsv(withToken(entities(3, 100), TOKEN_C), TOKEN_COLUMNS));
  const r2 = await runCli(['upload', 'borrow-entities', refusedOnly, ...sb.flags, '--ledger', join(dir, 'other.db'), '--json']);
  assert.equal(r2.code, 3, r2.stderr);
  const s2 = lastJson(r2.stdout);
  assert.deepEqual([s2.status, (s2.stop as { sub_code: string }).sub_code, s2.pending], ['aborted', 'aop.invalid-app-auth-token', 3]);
});

test('fair turns: a small merchant after a big one in the file is done in the first turns, not after the big one', async () => {
  const sb = await startSandbox({ appAuthTokens: [TOKEN_A, TOKEN_B] });
  const dir = tempDir();
  const big = withToken(entities(40), TOKEN_A);
  const small = withToken(entities(3, 1000), TOKEN_B);
  const csv = writeFile(dir, 'points.csv', toCsv([...big, ...small], TOKEN_COLUMNS));
  // one request at a time, so the order the gateway sees is the order of the turns
  const r = await upload(sb, dir, [csv], ['--concurrency', '1', '--qps', '0']);
  assert.equal(r.code, 0, r.stderr);
  const order = sb.gateway.requests.map((q) => q.merchant);
  const lastSmall = order.lastIndexOf(merchantUserId(TOKEN_B));
  assert.equal(order.length, 43);
  assert.ok(lastSmall < 6, `the small merchant's last row went out as request ${lastSmall + 1} of 43 (in file order: 43)`);
});
