/**
 * How a run acts on the gateway's outcomes end to end (the client's classification is tested in outcomes.test.ts):
 * one bad row fails that row, many alike stop the run as configuration, and an unclear sign.effect is read back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { lastJson, runCli } from './helpers/cli.js';
import { startSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { entities, toCsv } from './helpers/borrow.js';

const METHOD = 'zhima.merchant.borrow.entity.upload';

test('a per-row 40002 isv.invalid-parameter fails that row and the run goes on; 20 alike in a row stop it as probably configuration (exit 3)', async () => {
  const few = await startSandbox({ faults: { rates: { invalid_parameter: 0.2 }, seed: 3 } });
  const dir = tempDir();
  const csv = writeFile(dir, 'rows.csv', toCsv(entities(30)));
  const r = await runCli(['upload', 'borrow-entities', csv, ...few.flags, '--ledger', join(dir, 'a.db'), '--json', '--no-progress', '--concurrency', '1']);
  const s = lastJson(r.stdout);
  const refused = few.gateway.requests.filter((q) => q.subCode === 'isv.invalid-parameter').length;
  assert.ok(refused > 0 && refused < 20, `${refused} rows were refused`);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual([s.status, s.uploaded, s.failed], ['done', 30 - refused, refused]);
  assert.match(r.stderr, /isv\.invalid-parameter/);

  const all = await startSandbox({ faults: { rates: { invalid_parameter: 1 } } });
  const many = await runCli(['upload', 'borrow-entities', csv, ...all.flags, '--ledger', join(dir, 'b.db'), '--json', '--no-progress', '--concurrency', '1']);
  assert.equal(many.code, 3, many.stderr);
  const m = lastJson(many.stdout);
  assert.equal(m.status, 'aborted');
  assert.match(String(m.abort_reason), /20 rows in a row failed with isv\.invalid-parameter: probably configuration/);
  assert.equal(all.gateway.requests.filter((q) => q.method === METHOD).length, 20, 'it stopped at the 20th');
  assert.equal(m.pending, 10, 'the rest waits for the next run');
});
