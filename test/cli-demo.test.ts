/** `npm start` twice, as a new user runs it: the demo's ledger and its "Alipay" stay in step. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

/** agreement_no → status of an agreements export (CSV with a BOM). */
function statuses(path: string): Map<string, string> {
  const [header, ...lines] = readFileSync(path, 'utf8').replace(/^\uFEFF/, '').trim().split('\n');
  const cols = header!.split(',');
  const no = cols.indexOf('agreement_no');
  const status = cols.indexOf('status');
  return new Map(lines.map((l) => l.split(',')).map((c) => [c[no]!, c[status]!]));
}

test('a second demo run uploads nothing and exports the agreements as the first left them; it says its keys are reused', async () => {
  const dir = tempDir();
  const ledger = join(dir, '.demo', 'alipay-sync.db');
  const first = await runCli(['demo', '--ledger', ledger], { timeoutMs: 90_000 });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout.split('\n')[0]!, /fresh RSA2 keys/);
  const before = statuses(join(dir, '.demo', 'agreements.csv'));
  assert.ok([...before.values()].includes('NORMAL'), 'the first run made agreements effective');

  const second = await runCli(['demo', '--ledger', ledger], { timeoutMs: 90_000 });
  assert.equal(second.code, 0, second.stderr);
  const head = second.stdout.split('\n')[0]!;
  assert.doesNotMatch(head, /fresh/, 'the keys are the first run\'s');
  assert.match(head, /RSA2 keys from .*keys, made by the first run/);
  assert.deepEqual(statuses(join(dir, '.demo', 'agreements.csv')), before, 'the export after the second run equals the first\'s');
  for (const m of second.stdout.matchAll(/read \d+ = .* uploaded (\d+) /g)) {
    if (!m[0].includes('unchanged 0 ')) assert.equal(m[1], '0', `nothing uploaded again: ${m[0]}`);
  }
  const status = await runCli(['status', '--ledger', ledger, '--json']);
  const agreements = (JSON.parse(status.stdout) as { agreements: { status: string; count: number }[] }).agreements;
  assert.deepEqual(agreements.find((a) => a.status === 'TEMP')?.count, [...before.values()].filter((s) => s === 'TEMP').length);

  // what "Alipay" keeps beside the ledger holds no personal data of the contracts it was sent
  const held = readFileSync(join(dir, '.demo', 'sandbox-holdings.json'), 'utf8');
  const contracts = readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'worker-contracts.csv'), 'utf8');
  for (const id of contracts.match(/\b\d{17}[\dX]\b/g) ?? []) assert.ok(!held.includes(id), 'no ID number in the holdings');
  assert.doesNotMatch(held, /real_name|id_card|"phone"|@example\.com/);
});
