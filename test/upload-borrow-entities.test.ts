import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { parse } from 'csv-parse/sync';
import { lastJson, runCli, spawnCli } from './helpers/cli.js';
import { startSandbox, type TestSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { waitUntil } from './helpers/wait.js';
import { COLUMNS, entity, entities, toCsv, type Row } from './helpers/borrow.js';

const METHOD = 'zhima.merchant.borrow.entity.upload';

function upload(sb: TestSandbox, dir: string, files: string[], extra: string[] = []) {
  return runCli(['upload', 'borrow-entities', ...files, ...sb.flags, '--ledger', join(dir, 'ledger.db'), '--json', '--backoff-ms', '5', ...extra]);
}

function held(sb: TestSandbox): Map<string, Record<string, unknown>> {
  return new Map(sb.gateway.borrowEntities.entities().map((e) => [`${e.category_code}/${e.entity_code}`, e.biz]));
}

function addsUp(s: Record<string, unknown>) {
  const n = (k: string) => s[k] as number;
  assert.equal(n('read'), n('rejected') + n('superseded') + n('unchanged') + n('uploaded') + n('failed') + n('pending'), JSON.stringify(s));
}

test('a messy export ends with the newest valid snapshot of every key, one request per key, and every invalid row rejected by line', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const columns = [...COLUMNS.slice(0, 5), 'internal_note', ...COLUMNS.slice(5)]; // an unknown column; no product_code column
  const rows: Row[] = [
    entity(1, { upload_time: '2024-05-01 09:00:00', can_borrow_cnt: '1' }), // line 2: superseded by line 6
    entity(2, { address_desc: '杭州市西湖区\n文三路478号, "东门"' }), // line 3-4: multi-line quoted cell
    entity(3, { category_code: 'bicycle' }), // line 5: bad enum
    entity(1, { upload_time: '2024-05-03 09:00:00', can_borrow_cnt: '3' }), // line 6: newest of E1
    entity(4, { latitude: '91' }), // 7: out of range
    entity(1, { upload_time: '2024-05-02 09:00:00', can_borrow_cnt: '2' }), // 8: older, superseded
    entity(5, { upload_time: '2024-02-30 10:00:00' }), // 9: not a real date
    entity(6, { entity_name: '很'.repeat(21) }), // 10: 21 characters
    entity(7, { entity_name: '很'.repeat(20) }), // 11: 20 characters: valid
    entity(8, { can_borrow: 'yes' }), // 12: Y/N
    entity(9, { total_borrow_cnt: '-1' }), // 13: negative
    entity(10, { entity_code: '' }), // 14: required empty
    entity(11, { rent_desc: '', office_hours_desc: '' }), // 15: empty optional cells: left out
  ].map((r) => ({ ...r, internal_note: 'x' }));
  const csv = writeFile(dir, 'messy.csv', toCsv(rows, columns, { bom: true, eol: '\r\n' }));
  const rejects = join(dir, 'rejects.csv');
  const r = await upload(sb, dir, [csv], ['--rejects', rejects]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /ignoring unknown column internal_note/);
  const s = lastJson(r.stdout);
  addsUp(s);
  assert.deepEqual([s.read, s.rejected, s.superseded, s.uploaded, s.failed, s.pending], [13, 7, 2, 4, 0, 0]);

  const h = held(sb);
  assert.deepEqual([...h.keys()].sort(), ['power_bank/E000001', 'power_bank/E000007', 'power_bank/E000011', 'umbrella/E000002'].sort());
  assert.equal(h.get('power_bank/E000001')!.upload_time, '2024-05-03 09:00:00');
  assert.equal(h.get('power_bank/E000001')!.can_borrow_cnt, '3');
  assert.equal(h.get('umbrella/E000002')!.address_desc, '杭州市西湖区\n文三路478号, "东门"');
  assert.equal(h.get('power_bank/E000001')!.product_code, 'w1010100000000002858', 'product_code defaulted');
  assert.equal('rent_desc' in h.get('power_bank/E000011')!, false, 'empty optional cells are not sent');
  assert.equal('internal_note' in h.get('power_bank/E000011')!, false);
  assert.ok([...sb.gateway.requestCounts(METHOD).values()].every((c) => c === 1), 'one request per key');
  assert.equal(sb.gateway.requests.length, 4);

  const rej = parse(readFileSync(rejects, 'utf8'), { columns: true, bom: true }) as Record<string, string>[];
  assert.deepEqual(Object.keys(rej[0]!).slice(0, 4), ['line', 'field', 'reason', 'file']);
  assert.deepEqual(rej.map((x) => [x.line, x.field]), [
    ['5', 'category_code'], ['7', 'latitude'], ['9', 'upload_time'], ['10', 'entity_name'], ['12', 'can_borrow'], ['13', 'total_borrow_cnt'], ['14', 'entity_code'],
  ]);
  assert.equal(rej[0]!.entity_code, 'E000003', 'the row\'s cells follow');
  for (const x of rej) assert.ok((x.reason ?? "").length > 5);
});

test('a rerun sends nothing; a next-day file sends only the newer and the new', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const day1 = entities(20);
  const f1 = writeFile(dir, 'day1.csv', toCsv(day1));
  const first = await upload(sb, dir, [f1]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(lastJson(first.stdout).uploaded, 20);

  const again = await upload(sb, dir, [f1]);
  assert.equal(again.code, 0, again.stderr);
  const s2 = lastJson(again.stdout);
  assert.deepEqual([s2.unchanged, s2.uploaded], [20, 0]);
  assert.equal(sb.gateway.requests.length, 20, 'the rerun sent nothing');

  const day2 = [
    ...day1.slice(0, 10), // unchanged
    ...day1.slice(10, 15).map((r) => ({ ...r, upload_time: '2024-05-02 10:00:00', can_borrow_cnt: '0' })), // newer
    ...day1.slice(15, 20).map((r) => ({ ...r, upload_time: '2024-04-30 10:00:00', can_borrow_cnt: '9' })), // older
    ...entities(3, 100), // new
  ];
  const f2 = writeFile(dir, 'day2.csv', toCsv(day2));
  const next = await upload(sb, dir, [f2]);
  assert.equal(next.code, 0, next.stderr);
  const s3 = lastJson(next.stdout);
  addsUp(s3);
  assert.deepEqual([s3.read, s3.unchanged, s3.superseded, s3.uploaded], [23, 10, 5, 8]);
  assert.equal(sb.gateway.requests.length, 28);
  const sentOnDay2 = sb.gateway.requests.slice(20).map((r) => r.key).sort();
  assert.deepEqual(sentOnDay2, [...day1.slice(10, 15), ...entities(3, 100)].map((r) => `${r.category_code}/${r.entity_code}`).sort());
});

test('GBK input arrives intact', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const rows = [entity(1, { entity_name: '爱心雨伞·西湖店', address_desc: '杭州市西湖区文三路478号华星科技大厦' }), entity(2, { entity_name: '充电宝（北门）' })];
  const csv = writeFile(dir, 'gbk.csv', iconv.encode(toCsv(rows, COLUMNS, { eol: '\r\n' }), 'gbk'));
  const r = await upload(sb, dir, [csv], ['--encoding', 'gbk']);
  assert.equal(r.code, 0, r.stderr);
  const h = held(sb);
  assert.equal(h.get('power_bank/E000001')!.entity_name, '爱心雨伞·西湖店');
  assert.equal(h.get('power_bank/E000001')!.address_desc, '杭州市西湖区文三路478号华星科技大厦');
  assert.equal(h.get('umbrella/E000002')!.entity_name, '充电宝（北门）');
});

test('kill -9 mid-run, then the same command: complete, and re-sent rows bounded by the concurrency', async () => {
  const sb = await startSandbox({ faults: { rates: { slow: 1 }, slowMs: 40 } });
  const dir = tempDir();
  const rows = entities(300);
  const csv = writeFile(dir, 'big.csv', toCsv(rows));
  const concurrency = 6;
  const args = ['upload', 'borrow-entities', csv, ...sb.flags, '--ledger', join(dir, 'ledger.db'), '--json', '--qps', '0', '--concurrency', String(concurrency)];
  const { child, done } = spawnCli(args);
  await waitUntil(() => sb.gateway.requests.length >= 60, { ms: 20_000, what: '60 requests at the gateway', child });
  child.kill('SIGKILL');
  const killed = await done;
  assert.equal(killed.signal, 'SIGKILL');
  const before = sb.gateway.requests.length;
  assert.ok(before < 300, 'killed mid-run');

  const rerun = await runCli(args);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stderr, /taking over the ledger/);
  const h = held(sb);
  assert.equal(h.size, 300, 'every row arrived');
  const dupes = [...sb.gateway.requestCounts(METHOD).values()].filter((c) => c > 1).length;
  assert.ok(dupes <= concurrency, `${dupes} rows sent twice, at most ${concurrency} may be`);
  assert.equal(sb.gateway.requests.length, 300 + dupes);
});

test('gateway faults (20000, 40005, 502, dropped connections, slow answers) are retried to success; business failures are tried once', async () => {
  const sb = await startSandbox({
    faults: { rates: { unavailable: 0.15, limited: 0.05, http502: 0.1, drop: 0.1, slow: 0.1, system_error: 0.1 }, slowMs: 1500, maxPerRequest: 2, seed: 7 },
  });
  const dir = tempDir();
  // 30 rows meet every fault kind with this seed; each 40005 halves the rate, so more rows only cost time
  const rows = [...entities(30), entity(500, { entity_name: '敏感词充电宝' })];
  const csv = writeFile(dir, 'faults.csv', toCsv(rows));
  const r = await upload(sb, dir, [csv], ['--max-attempts', '3', '--request-timeout', '0.5', '--qps', '0', '--concurrency', '8']);
  assert.equal(r.code, 1, r.stderr);
  const s = lastJson(r.stdout);
  addsUp(s);
  assert.deepEqual([s.uploaded, s.failed, s.pending], [30, 1, 0]);
  assert.ok((s.retries as number) > 10, `retries: ${String(s.retries)}`);
  const faults = new Set(sb.gateway.requests.map((q) => q.fault).filter(Boolean));
  for (const f of ['unavailable', 'limited', 'http502', 'drop', 'slow', 'system_error']) assert.ok(faults.has(f as never), `fault ${f} was exercised`);
  assert.equal(held(sb).size, 30);
  // Requests that met an injected fault never reached the business check; the one that did is not repeated.
  const reachedBusiness = sb.gateway.requests.filter((q) => q.key === 'umbrella/E000500' && !q.fault);
  assert.deepEqual(reachedBusiness.map((q) => q.subCode), ['INFOSEC_VERIFY_FAILED'], 'a business failure is tried once');
  assert.match(r.stderr, /INFOSEC_VERIFY_FAILED/);
});

test('over the gateway\'s quota, 40005 slows the run down by itself and every row still arrives', async () => {
  const sb = await startSandbox({ quota: 40 });
  const dir = tempDir();
  const csv = writeFile(dir, 'rows.csv', toCsv(entities(200)));
  const r = await upload(sb, dir, [csv], ['--qps', '0', '--concurrency', '8', '--max-attempts', '10', '--backoff-ms', '50']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lastJson(r.stdout).uploaded, 200);
  assert.match(r.stderr, /asked to slow down/);
  const limited = sb.gateway.requests.filter((q) => q.code === '40005').length;
  assert.ok(limited > 0 && limited < 200, `${limited} answers were 40005`);
});

test('a forged answer aborts with exit 3 and counts as nothing; the next run finishes', async () => {
  const sb = await startSandbox({ faults: { rates: { wrong_key: 1 } } });
  const dir = tempDir();
  const csv = writeFile(dir, 'rows.csv', toCsv(entities(30)));
  const r = await upload(sb, dir, [csv], ['--concurrency', '2']);
  assert.equal(r.code, 3, r.stderr);
  const s = lastJson(r.stdout);
  addsUp(s);
  assert.equal(s.status, 'aborted');
  assert.equal(s.uploaded, 0);
  assert.equal(s.pending, 30);
  assert.match(r.stderr, /signature does not verify/);
  assert.ok(sb.gateway.requests.length <= 2, 'stops at once');

  sb.gateway.faults.set({});
  const again = await upload(sb, dir, [csv]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(lastJson(again.stdout).uploaded, 30);
});

test('a refused credential (invalid app id) aborts with exit 3 and names the sub_code', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const csv = writeFile(dir, 'rows.csv', toCsv(entities(5)));
  const flags = sb.flags.map((f) => (f === sb.gateway.appId ? '2021999999999999' : f));
  const r = await runCli(['upload', 'borrow-entities', csv, ...flags, '--ledger', join(dir, 'l.db'), '--json']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /isv\.invalid-app-id/);
  assert.equal(lastJson(r.stdout).pending, 5);

  // the next run, with the right app id and another file, also sends what the aborted run left pending
  const other = writeFile(dir, 'other.csv', toCsv(entities(2, 100)));
  const next = await runCli(['upload', 'borrow-entities', other, ...sb.flags, '--ledger', join(dir, 'l.db'), '--json']);
  assert.equal(next.code, 0, next.stderr);
  const s = lastJson(next.stdout);
  assert.deepEqual([s.read, s.uploaded], [2, 2]);
  assert.deepEqual(s.carried_over, { uploaded: 5, failed: 0, pending: 0 });
  assert.match(next.stderr, /from earlier runs: uploaded 5/);
  assert.equal(sb.gateway.borrowEntities.entities().length, 7);
});
