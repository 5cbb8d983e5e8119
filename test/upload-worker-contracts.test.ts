import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { lastJson, runCli } from './helpers/cli.js';
import { startSandbox, type TestSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { toCsv } from './helpers/borrow.js';
import { contract, CONTRACT_COLUMNS, idCard } from './helpers/people.js';
import { checkIdCard, idCardCheckChar } from '../sources/id-card.js';
import { maskIdCard, maskPhone } from '../sources/mask.js';

const METHOD = 'alipay.ins.scene.contract.workersaas.upload';

function upload(sb: TestSandbox, dir: string, files: string[], extra: string[] = []) {
  return runCli(['upload', 'worker-contracts', ...files, ...sb.flags, '--ledger', join(dir, 'ledger.db'), '--json', '--backoff-ms', '5', ...extra]);
}

/** Every byte the ledger left on disk: the database, its WAL and shared-memory index if they exist. */
function ledgerBytes(dir: string): Buffer {
  return Buffer.concat(['ledger.db', 'ledger.db-wal', 'ledger.db-shm'].map((f) => join(dir, f)).filter(existsSync).map((f) => readFileSync(f)));
}

test('identity numbers: MOD 11-2 check digit, real birth date, region; reasons never repeat the number', () => {
  assert.equal(checkIdCard(idCard(5)), null);
  assert.equal(idCardCheckChar('11010519491231002'), 'X');
  assert.equal(checkIdCard('11010519491231002X'), null);
  assert.equal(checkIdCard('11010519491231002x'), null);
  const id = idCard(7);
  const wrong = id.slice(0, 17) + (id[17] === '7' ? '3' : '7');
  assert.equal(checkIdCard(wrong), `check digit should be ${id[17]}`);
  assert.match(checkIdCard('330106199002301234') ?? '', /birth date .* not a real date/);
  assert.match(checkIdCard('990106199001011234') ?? '', /region/);
  assert.match(checkIdCard('3301061990010112') ?? '', /18 characters/);
  for (const v of ['330106199002301234', wrong, '990106199001011234']) assert.ok(!(checkIdCard(v) ?? '').includes(v.slice(0, 10)));
});

test('a realistic export: valid contracts arrive byte-identical, invalid ones are rejected by line, personal data stays out of every output and the ledger', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const good = Array.from({ length: 40 }, (_, i) => contract(i + 1));
  const badId = contract(101);
  badId.id_card = badId.id_card.slice(0, 17) + (badId.id_card[17] === '1' ? '2' : '1');
  const rows = [
    ...good.slice(0, 20),
    badId, // line 22
    contract(102, { id_card: '330106199002301234' }), // 23: no Feb 30th
    contract(103, { phone: '1381234567' }), // 24: 10 digits
    contract(104, { phone: '12812345678' }), // 25: not a mobile range
    contract(105, { payload: '{"policy": PET}' }), // 26: not JSON
    contract(106, { files: '[{"fileName":"a.pdf","fileUrl":7}]' }), // 27: fileUrl not a string
    contract(107, { sign_time: '2024-13-01 00:00:00' }), // 28
    contract(108, { real_name: '张三3' }), // 29: valid for us, refused by the gateway, whose sub_msg repeats the id and phone
    ...good.slice(20),
  ];
  const csv = writeFile(dir, 'contracts.csv', toCsv(rows, CONTRACT_COLUMNS, { eol: '\r\n' }));
  const rejects = join(dir, 'rejects.csv');
  const r = await upload(sb, dir, [csv], ['--rejects', rejects, '--verbose']);
  assert.equal(r.code, 1, r.stderr);
  const s = lastJson(r.stdout);
  assert.deepEqual([s.read, s.rejected, s.uploaded, s.failed, s.pending], [48, 7, 40, 1, 0]);

  // byte-identical arrival, payload and files sent as strings
  const held = new Map(sb.gateway.workerContracts.contracts().map((c) => [c.sign_order_no, c.biz]));
  assert.equal(held.size, 40);
  for (const g of good) assert.deepEqual(held.get(g.sign_order_no), g);

  const rej = parse(readFileSync(rejects, 'utf8'), { columns: true, bom: true }) as Record<string, string>[];
  assert.deepEqual(rej.map((x) => [x.line, x.field]), [['22', 'id_card'], ['23', 'id_card'], ['24', 'phone'], ['25', 'phone'], ['26', 'payload'], ['27', 'files'], ['28', 'sign_time']]);
  assert.equal(rej[0]!.reason, `check digit should be ${contract(101).id_card[17]}`);
  assert.equal(rej[0]!.id_card, maskIdCard(badId.id_card), 'masked in the rejects file');
  assert.equal(rej[0]!.phone, maskPhone(badId.phone));
  assert.ok(rej[0]!.real_name!.endsWith('*'));
  assert.match(r.stderr, /INVALID_PARAMETER/);

  // The personal-data promise, checked on bytes: no id_card, phone or name of the input anywhere.
  const status = await runCli(['status', '--ledger', join(dir, 'ledger.db')]);
  assert.equal(status.code, 0);
  const outputs = [r.stdout, r.stderr, readFileSync(rejects, 'utf8'), status.stdout, status.stderr].join('\n');
  const ledger = ledgerBytes(dir);
  for (const row of rows) {
    for (const v of [row.id_card, row.phone]) {
      assert.ok(!outputs.includes(v), `${v.slice(0, 3)}… must not be in any output`);
      assert.equal(ledger.indexOf(Buffer.from(v, 'utf8')), -1, `${v.slice(0, 3)}… must not be in the ledger files`);
    }
    assert.equal(ledger.indexOf(Buffer.from(row.real_name, 'utf8')), -1, 'no name in the ledger files');
  }
  assert.ok(outputs.includes(maskIdCard(contract(108).id_card)), 'the gateway\'s message is kept, masked');
});

test('a contract whose first attempt gets 20000 is retried and arrives once; reruns skip it; changed content goes again', async () => {
  const sb = await startSandbox({ faults: { rates: { unavailable: 1 }, maxPerRequest: 1 } });
  const dir = tempDir();
  const rows = [contract(1), contract(2)];
  const csv = writeFile(dir, 'c.csv', toCsv(rows, CONTRACT_COLUMNS));
  const r = await upload(sb, dir, [csv]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lastJson(r.stdout).retries, 2);
  assert.deepEqual(sb.gateway.requests.map((q) => q.code).sort(), ['10000', '10000', '20000', '20000']);
  assert.deepEqual(sb.gateway.workerContracts.contracts().map((c) => c.requests), [1, 1], 'each arrived once');

  const again = await upload(sb, dir, [csv]);
  assert.equal(lastJson(again.stdout).unchanged, 2);
  const changed = writeFile(dir, 'c2.csv', toCsv([contract(1), { ...contract(2), phone: '13900001111' }], CONTRACT_COLUMNS));
  const third = await upload(sb, dir, [changed]);
  const s = lastJson(third.stdout);
  assert.deepEqual([s.unchanged, s.uploaded], [1, 1]);
  assert.equal(sb.gateway.workerContracts.contracts().find((c) => c.sign_order_no === contract(2).sign_order_no)!.biz.phone, '13900001111');
});

test('biz_success false is a row failure', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const csv = writeFile(dir, 'c.csv', toCsv([contract(1), contract(2, { payload: '{"sandbox":"biz_fail"}' })], CONTRACT_COLUMNS));
  const r = await upload(sb, dir, [csv]);
  assert.equal(r.code, 1, r.stderr);
  const s = lastJson(r.stdout);
  assert.deepEqual([s.uploaded, s.failed], [1, 1]);
  assert.match(r.stderr, /biz_success is false/);
  assert.equal(sb.gateway.requestCounts(METHOD).get(contract(2).sign_order_no), 1);
  // status names what refused it, not the 10000 the answer carried
  const st = JSON.parse((await runCli(['status', '--ledger', join(dir, 'ledger.db'), '--json'])).stdout) as { failures: { sub_code: string; rows: number }[] };
  assert.deepEqual(st.failures.map((f) => [f.sub_code, f.rows]), [['biz_success:false', 1]]);
});
