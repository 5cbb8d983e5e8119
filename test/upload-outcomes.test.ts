/**
 * How a run acts on the gateway's outcomes end to end (the client's classification is tested in outcomes.test.ts):
 * one bad row fails that row, many alike stop the run as configuration, and an unclear sign.effect is read back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
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

test('sign.effect whose first answer was lost (a timeout) but took effect: the retry meets a conflict, reads the agreement back, and records it done', async () => {
  const sb = await startSandbox({
    agreements: [{
      agreement_no: '20170322000000000101', alipay_user_id: '2088101122670001', personal_product_code: 'GENERAL_WITHHOLDING_P', sign_scene: 'INDUSTRY|MEDICAL', status: 'TEMP',
      external_logon_id: '13852852877', alipay_logon_id: 'zhang.wei@example.com',
    }],
    // the gateway does the work, then answers too late for the client: an outcome the client cannot know
    faults: { rates: { slow: 1 }, slowMs: 1500, maxPerRequest: 1 },
  });
  const dir = tempDir();
  const csv = writeFile(dir, 'e.csv', 'agreement_no\n20170322000000000101\n');
  const r = await runCli(['agreements', 'effect', csv, ...sb.flags, '--ledger', join(dir, 'l.db'), '--json', '--no-progress', '--request-timeout', '0.3', '--backoff-ms', '5']);
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout);
  assert.deepEqual([s.uploaded, s.failed, s.retries], [1, 0, 1]);
  const effects = sb.gateway.requests.filter((q) => q.method === 'alipay.user.agreement.sign.effect');
  assert.equal(effects.length, 2);
  assert.equal(effects[1]!.subCode, 'USER_AGREEMENT_PERIOD_CONFILICT', 'the retry met the agreement already in force');
  assert.equal(sb.gateway.requests.filter((q) => q.method === 'alipay.user.agreement.query').length, 1, 'read back once');
  assert.equal(sb.gateway.agreements.get('20170322000000000101')!.status, 'NORMAL');
  // The answers carry the user's login at the merchant and at Alipay: neither is kept in clear, anywhere.
  for (const f of readdirSync(dir).filter((n) => n.startsWith('l.db'))) {
    const bytes = readFileSync(join(dir, f)).toString('utf8');
    assert.equal(bytes.includes('13852852877'), false, `external_logon_id in ${f}`);
    assert.equal(bytes.includes('zhang.wei@example.com'), false, `alipay_logon_id in ${f}`);
  }
});
