/**
 * An operator's night, as a user types it: rows Alipay refused, found with `rows`, not re-sent while unchanged,
 * re-sent on purpose (`--retry-failed`, `retry`), one key's story with Alipay's trace ids.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { Ledger } from '../state/ledger.js';
import { lastJson, runCli, runPiped, spawnCli } from './helpers/cli.js';
import { startSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { entities, entity, toCsv } from './helpers/borrow.js';
import { contract, CONTRACT_COLUMNS } from './helpers/people.js';

const SENSITIVE = '敏感词';

test('a failed night: refused rows are found, not re-sent while unchanged, re-sent on purpose; one key\'s story carries Alipay\'s trace id', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const ledger = join(dir, 'points.db');
  const rows = [
    ...entities(6),
    entity(6, { entity_name: `${SENSITIVE}雨伞` }), // line 8: refused by Alipay (INFOSEC_VERIFY_FAILED)
    entity(7, { entity_name: `${SENSITIVE}充电宝` }), // line 9: refused
    entity(8, { latitude: '91' }), // line 10: rejected
    entity(1, { upload_time: '2024-04-01 10:00:00' }), // line 11: superseded (older than line 3)
  ];
  const csv = writeFile(dir, 'points.csv', toCsv(rows));
  const base = ['upload', 'borrow-entities', csv, ...sb.flags, '--ledger', ledger, '--json', '--no-progress'];
  const first = await runCli(base);
  assert.equal(first.code, 1, first.stderr);
  const s1 = lastJson(first.stdout);
  assert.deepEqual([s1.uploaded, s1.failed, s1.rejected, s1.superseded, s1.still_refused], [6, 2, 1, 1, 0]);
  assert.equal(typeof s1.version, 'string', '--json carries the version');
  const sent = sb.gateway.requests.length;
  assert.equal(sent, 8);

  // The next night: the refused rows are unchanged, so they are not sent again ("still refused")
  const second = await runCli(base);
  assert.equal(second.code, 1, second.stderr);
  const s2 = lastJson(second.stdout);
  assert.deepEqual([s2.unchanged, s2.failed, s2.still_refused, s2.uploaded], [6, 2, 2, 0]);
  assert.match(second.stderr, /still refused: 2 of the failed rows/);
  assert.equal(sb.gateway.requests.length, sent, 'no request for unchanged refused rows');

  // Finding them: table, JSON Lines, CSV
  const r = (args: string[]) => runCli(['rows', '--ledger', ledger, ...args]);
  const table = await r(['--status', 'failed']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^state\s+dataset\s+key/);
  assert.match(table.stdout, /failed \(refused\)\s+borrow-entities\s+umbrella\/E000006 .*points\.csv:8\s+\d+\s+INFOSEC_VERIFY_FAILED/);
  const jsonl = (await r(['--status', 'failed', '--format', 'jsonl'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(jsonl.map((x) => x.key), ['umbrella/E000006', 'power_bank/E000007']);
  const logged = sb.gateway.requests.find((q) => q.key === 'umbrella/E000006')!;
  assert.ok(logged.traceId, 'the sandbox sends a trace_id header');
  assert.equal(jsonl[0]!.trace_id, logged.traceId, 'the ledger keeps Alipay\'s trace id of the answer');
  const csvOut = (await r(['--status', 'rejected,superseded', '--format', 'csv'])).stdout;
  assert.ok(csvOut.startsWith('\uFEFFstate,dataset,key'), 'CSV for spreadsheets starts with a BOM');
  const listed = parse(csvOut, { columns: true, bom: true }) as Record<string, string>[];
  assert.deepEqual(listed.map((x) => [x.state, x.line]), [['rejected', '10'], ['rejected', '10'], ['superseded', '11'], ['superseded', '11']]);
  assert.ok((await r(['--format', 'csv', '--bom=false'])).stdout.startsWith('state,'), '--bom=false leaves it out');
  assert.equal((await r(['--status', 'bogus'])).code, 2);

  // One key's story
  const story = await r(['--key', 'umbrella/E000006']);
  assert.equal(story.code, 0, story.stderr);
  assert.match(story.stdout, /now:\s+failed \(refused for its content/);
  assert.match(story.stdout, new RegExp(`trace_id ${logged.traceId}`));
  assert.match(story.stdout, /attempts .*\n\s+run 1 #1 .* row-fatal 40004 INFOSEC_VERIFY_FAILED/);
  const nokey = await r(['--key', 'umbrella/NOPE']);
  assert.equal(nokey.code, 1);
  assert.match(nokey.stderr, /no key umbrella\/NOPE/);

  // --sub-code alone is a mistake; --retry-failed with another sub_code sends nothing
  assert.equal((await runCli([...base, '--sub-code', 'INFOSEC_VERIFY_FAILED'])).code, 2);
  const other = await runCli([...base, '--retry-failed', '--sub-code', 'CATEGORY_CODE_ILLEGAL']);
  assert.equal(lastJson(other.stdout).still_refused, 2);
  assert.match(other.stderr, /warning: --sub-code CATEGORY_CODE_ILLEGAL: no refused row of borrow-entities has that sub_code \(or code\), so none is sent again for it; the refused rows have: INFOSEC_VERIFY_FAILED \(2\)/);
  assert.doesNotMatch(other.stderr, /--retry-failed sends them|or --retry-failed\)/, 'no advice to use the flag the user gave');
  assert.equal(sb.gateway.requests.length, sent);

  // retry: from the ledger's kept bodies, no file read (the sandbox refuses them again: the content is the same)
  const retried = await runCli(['retry', 'borrow-entities', '--sub-code', 'INFOSEC_VERIFY_FAILED', ...sb.flags, '--ledger', ledger, '--json']);
  assert.equal(retried.code, 1, retried.stderr);
  const s3 = lastJson(retried.stdout);
  assert.deepEqual([s3.read, s3.retried, (s3.carried_over as { failed: number }).failed], [0, 2, 2]);
  assert.deepEqual(s3.sent && { ...(s3.sent as object), duration_ms: 0 }, { rows: 2, uploaded: 0, failed: 2, duration_ms: 0 }, 'a retry says what it sent and how that ended');
  assert.equal(sb.gateway.requests.length, sent + 2);
  // status marks retry runs and shows what they sent
  const st = JSON.parse((await runCli(['status', '--ledger', ledger, '--json'])).stdout) as { runs: { kind: string; sent: { rows: number; failed: number } | null; files: string[] }[] };
  assert.deepEqual([st.runs[0]!.kind, st.runs[0]!.sent?.rows, st.runs[0]!.sent?.failed, st.runs[0]!.files], ['retry', 2, 2, []]);
  assert.equal(st.runs.find((x) => x.kind === 'retry-failed')?.kind, 'retry-failed');
  assert.match((await runCli(['status', '--ledger', ledger])).stdout.split('\n')[0]!, /\tkind\tsent\tsent_uploaded\tsent_failed$/);

  // Fixed in the file: changed content is sent by the ordinary run
  const fixed = writeFile(dir, 'points.csv', toCsv(rows.map((x) => ({ ...x, entity_name: x.entity_name!.replace(SENSITIVE, '') }))));
  const last = await runCli(['upload', 'borrow-entities', fixed, ...sb.flags, '--ledger', ledger, '--json']);
  assert.deepEqual([lastJson(last.stdout).uploaded, lastJson(last.stdout).failed], [2, 0]);
  assert.match((await r(['--key', 'umbrella/E000006'])).stdout, /now:\s+uploaded/);
});

test('rows stops quietly when its reader goes away (| head -1)', async () => {
  const dir = tempDir();
  const ledger = join(dir, 'l.db');
  const l = new Ledger(ledger, { hashKey: randomBytes(32) });
  const run = l.startRun('borrow-entities', 'upload', [], false);
  l.stage(run, 'borrow-entities', Array.from({ length: 20_000 }, (_, i) => ({ key: `k${i}`, snapshot: '', bizContent: `{"i":${i}}`, file: 'p.csv', line: i + 2 })));
  l.close();
  const { child, done } = spawnCli(['rows', '--ledger', ledger, '--format', 'jsonl']);
  let first = '';
  child.stdout!.once('data', (d: Buffer) => {
    first = String(d).split('\n')[0]!;
    child.stdout!.destroy();
  });
  const r = await done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal((JSON.parse(first) as { state: string }).state, 'pending');
  const all = await runCli(['rows', '--ledger', ledger, '--format', 'csv']);
  assert.equal(all.stdout.trim().split('\n').length, 20_001);
});

/** A ledger of n pending rows, staged in-process (the CLI is not the point of making it). */
function stagedLedger(n: number): string {
  const ledger = join(tempDir(), 'l.db');
  const l = new Ledger(ledger, { hashKey: randomBytes(32) });
  const run = l.startRun('borrow-entities', 'upload', [], false);
  l.stage(run, 'borrow-entities', Array.from({ length: n }, (_, i) => ({ key: `k${i}`, snapshot: '', bizContent: `{"i":${i}}`, file: 'p.csv', line: i + 2 })));
  l.close();
  return ledger;
}

test('rows | head ends quietly (exit 0) in every format, also when the reader leaves while the table sizes its columns; --verbose is accepted', async () => {
  const big = stagedLedger(2_000);
  const small = stagedLedger(15);
  // head -1 and -150 leave while the table still holds the first 200 rows it sizes its columns from; -201 after
  for (const [ledger, format, lines] of [[big, 'table', 1], [big, 'table', 150], [big, 'table', 201], [small, 'table', 1], [big, 'csv', 1], [big, 'jsonl', 1]] as const) {
    const r = await runPiped(['rows', '--ledger', ledger, '--format', format, '--verbose'], `head -${lines}`);
    assert.equal(r.stderr, '', `${format} | head -${lines}: nothing on stderr (no "no rows match", no internal error)`);
    assert.equal(r.code, 0, `${format} | head -${lines}`);
    assert.equal(r.stdout.split('\n').length - 1, lines);
  }
  const none = await runCli(['rows', '--ledger', small, '--status', 'failed']);
  assert.equal(none.code, 0);
  assert.match(none.stderr, /no rows in .* match/, 'said when nothing matched');
});

test('a rejects file is fed back as the README says: BOM and formula guard undone; masked personal cells are refused', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const ledger = join(dir, 'l.db');
  const rejects = join(dir, 'rejects.csv');
  // cells a spreadsheet would run as formulas, on rows that are invalid for another reason
  const rows = [entity(1, { entity_name: '=HYPERLINK("x")', latitude: '91' }), entity(2, { address_desc: "'+86 文三路", latitude: '91' })];
  const first = await runCli(['upload', 'borrow-entities', writeFile(dir, 'p.csv', toCsv(rows)), ...sb.flags, '--ledger', ledger, '--rejects', rejects]);
  assert.equal(first.code, 1, first.stderr);
  const text = readFileSync(rejects, 'utf8');
  assert.ok(text.startsWith('\uFEFFline,field,reason,file,'));
  assert.match(text, /,"'=HYPERLINK\(""x""\)",/, 'guarded, then quoted');
  assert.match(text, /,''\+86 文三路,/, 'a cell that already starts with a quote gets one more');
  // fixed in the rejects file itself, and fed back
  const fixed = writeFile(dir, 'fixed.csv', text.replaceAll(',91,', ',30.5,'));
  const again = await runCli(['upload', 'borrow-entities', fixed, ...sb.flags, '--ledger', ledger, '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /unknown column/, 'the rejects file\'s own columns are known');
  const held = new Map(sb.gateway.borrowEntities.entities().map((e) => [e.entity_code, e.biz]));
  assert.equal(held.get('E000001')!.entity_name, '=HYPERLINK("x")', 'exactly the original text');
  assert.equal(held.get('E000002')!.address_desc, "'+86 文三路");

  // worker contracts: the personal cells of a rejects file are masked, so its rows cannot go back as they are
  const wrejects = join(dir, 'wrejects.csv');
  const contracts = [
    'sign_order_no,sign_time,real_name,id_card,phone,payload,files',
    CONTRACT_COLUMNS.map((c) => contract(9)[c]).map((v) => (v.includes(',') || v.includes('"') ? `"${v.replaceAll('"', '""')}"` : v)).join(','), // valid
    '2024052800000001,2024-05-01 10:00:00,张伟,330106198001011234,13812345678,{},[]', // a bad ID check digit, line 3
  ].join('\n') + '\n';
  await runCli(['upload', 'worker-contracts', writeFile(dir, 'c.csv', contracts), ...sb.flags, '--ledger', join(dir, 'w.db'), '--rejects', wrejects]);
  const sent = () => sb.gateway.requests.filter((q) => q.method === 'alipay.ins.scene.contract.workersaas.upload').length;
  const sentBefore = sent();
  const back = await runCli(['upload', 'worker-contracts', wrejects, ...sb.flags, '--ledger', join(dir, 'w.db'), '--json']);
  assert.equal(back.code, 1);
  assert.match(back.stderr, /real_name: is masked \(a rejects file never holds personal data in clear\)/);
  // fed back again, a second-generation rejects file still names the original export's file and line
  const second = join(dir, 'wrejects-2.csv');
  const back2 = await runCli(['upload', 'worker-contracts', wrejects, ...sb.flags, '--ledger', join(dir, 'w.db'), '--rejects', second]);
  assert.equal(back2.code, 1);
  assert.match(back2.stderr, /wrejects\.csv:2 \(from .*c\.csv:3\): rejected/);
  const row = readFileSync(second, 'utf8').split(/\r?\n/)[1]!;
  assert.match(row, /^3,real_name,.*,[^,]*c\.csv,/, `the original file and line, not the rejects file's: ${row}`);
  assert.doesNotMatch(row, /wrejects/);
  assert.equal(sent(), sentBefore, 'nothing of the rejects file is sent');
});
