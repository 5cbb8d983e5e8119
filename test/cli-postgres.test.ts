import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { lastJson, runCli, spawnCli } from './helpers/cli.js';
import { entities, entity, toCsv } from './helpers/borrow.js';
import { freshSchema, pgUrl } from './helpers/postgres.js';
import { startSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { PgLedger } from '../state/postgres/ledger.js';
import type { SeedAgreement } from '../pipeline/sandbox/methods/agreements.js';
import { dutUserSignNotification, sendNotification, signNotification } from '../pipeline/sandbox/notify-sender.js';

/** The same commands on a PostgreSQL ledger (`--ledger postgres://… --schema …`), as a user types them. */

async function schemaExists(url: string, schema: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 1;
  } finally {
    await c.end();
  }
}

test('upload on PostgreSQL: a dry run leaves no trace (not even the schema), the run creates it, a rerun skips; status reads it; no password recorded', { timeout: 90_000 }, async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const url = await pgUrl();
  const withPassword = url.replace('postgres@', 'postgres:pw-never-shown@'); // trust authentication: the password is not asked for
  const schema = freshSchema('cli');
  const csv = writeFile(dir, 'rows.csv', toCsv([...entities(12), entity(3, { latitude: '99' })]));
  const args = ['upload', 'borrow-entities', csv, ...sb.flags, '--ledger', withPassword, '--json'];
  const env = { ALIPAY_SYNC_SCHEMA: schema };

  const dry = await runCli([...args, '--dry-run'], { env });
  assert.equal(dry.code, 1, dry.stderr);
  assert.deepEqual(lastJson(dry.stdout).plan, { new: 12, changed: 0 });
  assert.equal(await schemaExists(url, schema), false, 'a dry run leaves no trace');

  const first = await runCli(args, { env });
  assert.equal(first.code, 1, first.stderr); // the rejected row
  const s1 = lastJson(first.stdout);
  assert.deepEqual([s1.read, s1.rejected, s1.superseded, s1.uploaded], [13, 1, 0, 12]);
  assert.equal(sb.gateway.requests.length, 12);
  const again = await runCli(args, { env });
  assert.equal(lastJson(again.stdout).unchanged, 12);
  assert.equal(sb.gateway.requests.length, 12, 'nothing sent twice');

  const status = await runCli(['status', '--ledger', withPassword, '--schema', schema, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const st = lastJson(status.stdout) as { ledger: string; runs: { command: string; status: string }[]; totals: { status: string; rows: number }[] };
  assert.match(st.ledger, new RegExp(`^postgres://postgres@127\\.0\\.0\\.1:\\d+/postgres \\(schema ${schema}\\)$`));
  for (const out of [status.stdout, status.stderr, first.stderr, first.stdout]) assert.doesNotMatch(out, /pw-never-shown/);
  assert.equal(st.runs.length, 2);
  assert.ok(st.runs.every((r) => r.command.includes('postgres://postgres:…@') && !r.command.includes('pw-never-shown')), st.runs[0]!.command);
  assert.deepEqual(st.totals.map((t) => [t.status, t.rows]), [['uploaded', 12]]);
  // the operator's commands read it too: rows (streamed in pages), one key's story, a run's report
  const rows = await runCli(['rows', '--ledger', url, '--schema', schema, '--format', 'csv', '--no-bom']);
  assert.equal(rows.code, 0, rows.stderr);
  const lines = rows.stdout.trim().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('uploaded,')).length, 12);
  assert.equal(lines.filter((l) => l.startsWith('rejected,')).length, 2, 'the invalid line, read by both runs');
  const story = await runCli(['rows', '--ledger', url, '--schema', schema, '--key', 'umbrella/E000000']);
  assert.equal(story.code, 0, story.stderr);
  assert.match(story.stdout, /now: +uploaded/);
  const html = join(tempDir(), 'report.html');
  const report = await runCli(['report', '--ledger', url, '--schema', schema, '--html', html]);
  assert.equal(report.code, 0, report.stderr);
  assert.match(readFileSync(html, 'utf8'), /<svg/);
  const missing = await runCli(['status', '--ledger', url, '--schema', freshSchema('none')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no ledger at postgres:\/\/.*\(schema none_/);
});

test('notify serve: two receivers on one PostgreSQL ledger; a notice and its resend through the other receiver are applied once', { timeout: 90_000 }, async () => {
  const seed: SeedAgreement[] = [
    { agreement_no: '20170322000000000001', alipay_user_id: '2088101122675263', personal_product_code: 'GENERAL_WITHHOLDING_P', sign_scene: 'INDUSTRY|MEDICAL', status: 'TEMP' },
  ];
  const sb = await startSandbox({ agreements: seed });
  const dir = tempDir();
  const url = await pgUrl();
  const schema = freshSchema('notify');
  const ledger = ['--ledger', url, '--schema', schema];
  const refused = await runCli(['notify', 'serve', '--port', '0', ...ledger, '--alipay-public-key', sb.files.alipayPublicKey]);
  assert.equal(refused.code, 2, 'a schema without a ledger is refused (a mistyped one must not answer Alipay success)');
  // the ledger exists once a run made it
  const csv = writeFile(dir, 'e.csv', 'agreement_no\n20170322000000000001\n');
  const effect = await runCli(['agreements', 'effect', csv, ...sb.flags, ...ledger]);
  assert.equal(effect.code, 0, effect.stderr);
  const live = await Promise.all([0, 1].map(() => new Promise<{ server: ReturnType<typeof spawnCli>; url: string }>((resolve, reject) => {
    const server = spawnCli(['notify', 'serve', '--port', '0', ...ledger, '--alipay-public-key', sb.files.alipayPublicKey, '--app-id', sb.gateway.appId]);
    server.child.stdout!.on('data', (d: Buffer) => {
      const m = /listening on (\S+)/.exec(String(d));
      if (m) resolve({ server, url: m[1]! });
    });
    server.child.on('exit', () => reject(new Error('notify serve exited')));
  })));
  try {
    const agreement = sb.gateway.agreements.get('20170322000000000001')!;
    const form = signNotification(dutUserSignNotification({ ...agreement, status: 'NORMAL' }, sb.gateway.appId), sb.keys.alipayPrivateKey);
    // the same notice at both at once (a resend racing the first delivery), then once more at each
    const both = await Promise.all(live.map((r) => sendNotification(r.url, form)));
    assert.deepEqual(both, [{ status: 200, body: 'success' }, { status: 200, body: 'success' }]);
    assert.deepEqual(await sendNotification(live[1]!.url, form), { status: 200, body: 'success' });
  } finally {
    for (const r of live) r.server.child.kill('SIGINT');
  }
  const done = await Promise.all(live.map((r) => r.server.done));
  for (const d of done) assert.equal(d.code, 0, d.stderr);
  assert.equal(done.filter((d) => /applied dut_user_sign/.test(d.stderr)).length, 1, 'applied by one receiver');
  assert.equal(done.reduce((n, d) => n + (d.stderr.match(/resend of dut_user_sign/g) ?? []).length, 0), 2);
  const l = await PgLedger.open(url, { schema, readonly: true });
  try {
    const a = await l.agreement('20170322000000000001');
    assert.equal(a?.status, 'NORMAL');
    assert.deepEqual(a?.history.filter((h) => h.source === 'notify').length, 1, 'stored once');
  } finally {
    await l.close();
  }
});
