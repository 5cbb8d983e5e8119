import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Ledger, type AgreementInput } from '../state/ledger.js';
import { printStatus, type StatusReport } from '../pipeline/status.js';
import { displayWidth } from '../pipeline/table.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const D = 'borrow-entities';
const T0 = Date.parse('2026-03-01T00:00:00Z');

/**
 * A ledger with one of everything status shows: a finished run with failures (one refused by the gateway, one a
 * 10000 whose biz_success was false), a dry run recorded by an older version, a run whose process died, agreements
 * and a notification.
 */
function busyLedger(): string {
  const path = join(tempDir(), 'ledger.db');
  let now = T0;
  const l = new Ledger(path, { hashKey: randomBytes(32), clock: () => now });
  const r1 = l.startRun(D, 'upload borrow-entities a.csv', ['/data/exports/a.csv', '/data/exports/出口-b.csv'], false, { qps: 20, concurrency: 8 });
  l.stage(r1, D, ['k1', 'k2', 'k3'].map((key) => ({ key, snapshot: 's', bizContent: '{}', file: 'a.csv', line: 2 })));
  const [a, b, c] = l.claimPending(D, 0, 10);
  l.recordResult({ rowid: a!.rowid, runId: r1, status: 'uploaded', attempts: 1, code: '10000' });
  l.recordResult({ rowid: b!.rowid, runId: r1, status: 'failed', attempts: 1, code: '40004', subCode: 'INVALID_PARAMETER', reason: '参数有误 real_name' });
  l.recordResult({ rowid: c!.rowid, runId: r1, status: 'failed', attempts: 1, code: '10000', reason: 'biz_success is false: Alipay did not accept the contract' });
  now += 75_000;
  const counts = { read: 4, rejected: 1, superseded: 0, unchanged: 0, uploaded: 1, failed: 2, pending: 0 };
  l.finishRun(r1, 'done', 1, { ...counts, duration_ms: 75_000 });
  // a dry run as versions before 0.2 recorded them: its "pending" are the rows it would have sent
  now += 60_000;
  const r2 = l.startRun(D, 'upload borrow-entities a.csv --dry-run', ['a.csv'], true);
  l.finishRun(r2, 'dry-run', 1, { read: 5, rejected: 0, superseded: 0, skipped: 0, uploaded: 0, failed: 0, pending: 5, plan: { new: 2, changed: 3 } });
  // killed: still "running", nobody holds the lock
  now += 60_000;
  l.startRun(D, 'upload borrow-entities c.csv', ['c.csv'], false);
  const agreement = (no: string, status: string): AgreementInput => ({ agreement_no: no, status, alipay_user_id: '2088101122675263', fields: { agreement_no: no, status } });
  l.upsertAgreement(agreement('20240501000000000001', 'NORMAL'), 'effect', r1);
  l.upsertAgreement(agreement('20240501000000000002', 'NORMAL'), 'effect', r1);
  l.upsertAgreement(agreement('20240501000000000003', 'TEMP'), 'query', r1);
  l.applyNotification('n1', agreement('20240501000000000003', 'NORMAL'), '2026-03-01 08:05:00');
  l.close();
  return path;
}

async function status(path: string, out: { isTTY?: boolean; columns?: number }, o: { json?: boolean } = {}): Promise<string> {
  let text = '';
  await printStatus({ ledgerPath: path, runs: 10, json: Boolean(o.json), out: { ...out, write: (t: string) => (text += t) }, clock: () => T0 + 3600_000 });
  return text;
}

test('status on a terminal fits its width: a table when wide, a few lines per run when narrow; local times with the zone', async () => {
  const tz = process.env.TZ;
  process.env.TZ = 'Asia/Shanghai';
  try {
    const path = busyLedger();
    for (const columns of [40, 80, 100, 200]) {
      const text = await status(path, { isTTY: true, columns });
      for (const line of text.split('\n')) assert.ok(displayWidth(line) <= columns - 1, `${columns} columns: ${JSON.stringify(line)}`);
      assert.match(text, /times in Asia\/Shanghai, \+08:00/);
      assert.match(text, /2026-03-01 08:00:00/, 'the first run started at 00:00 UTC: 08:00 in Shanghai');
      assert.match(text, /biz_success:false/);
      assert.doesNotMatch(text, /\b10000\b/, 'a biz_success failure is not listed under 10000');
    }
    const wide = await status(path, { isTTY: true, columns: 200 });
    assert.match(wide, /run +dataset +started +took +status +exit +read +rejected +superseded +unchanged +uploaded +failed +pending/);
    assert.match(wide, /1 +borrow-entities +2026-03-01 08:00:00 +1m15s +done +1 +4 +1 +0 +0 +1 +2 +0\n/);
    assert.match(wide, /2 +borrow-entities +\S+ \S+ +\S+ +dry run +1 +5 +0 +0 +0 +0 +0\n/, 'a dry run shows no pending: its rows were never waiting');
    assert.match(wide, /run 2 was a dry run: it would have sent 5 \(2 new, 3 changed\); nothing was sent/);
    assert.match(wide, /3 +borrow-entities +\S+ \S+ +died/);
    assert.match(wide, /run 1 files: a\.csv, 出口-b\.csv/);
    assert.match(wide, /borrow-entities +1 +2 +0/, 'ledger holds: uploaded, failed, pending');
    assert.match(wide, /Agreements by status: NORMAL 3, TEMP 0|Agreements by status: NORMAL 3/);
    assert.match(wide, /Notifications received: 1 \(0 in the last 24 h\), the last at 2026-03-01 08:03:15/);
    const narrow = await status(path, { isTTY: true, columns: 80 });
    assert.match(narrow, /run 1 {2}borrow-entities {2}done \(exit 1\) {2}started 2026-03-01 08:00:00, took 1m15s\n/);
    assert.match(narrow, /read 4 = rejected 1 \+ superseded 0 \+ unchanged 0 \+ uploaded 1 \+ failed 2 \+/);
  } finally {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  }
});

test('status --json: the documented shape, times in UTC, counts that add up, dry runs as plans', async () => {
  const path = busyLedger();
  const r = JSON.parse(await status(path, {}, { json: true })) as StatusReport;
  assert.equal(r.schema, 1);
  assert.match(r.version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(Object.keys(r), [
    'schema', 'version', 'ledger', 'time_zone', 'runs', 'totals', 'failures', 'agreements', 'notifications', 'certificates', 'quota_spent', 'learned_rates', 'exit_code',
  ]);
  assert.deepEqual(r.runs.map((x) => [x.id, x.status, x.dry_run]), [[3, 'died', false], [2, 'plan', true], [1, 'done', false]]);
  const done = r.runs[2]!;
  assert.deepEqual(Object.keys(done), ['id', 'dataset', 'status', 'dry_run', 'started_at', 'finished_at', 'duration_ms', 'exit_code', 'files', 'counts', 'plan', 'command', 'message', 'settings', 'kind', 'sent']);
  assert.equal(done.started_at, '2026-03-01T00:00:00.000Z');
  assert.equal(done.duration_ms, 75_000);
  assert.deepEqual(done.settings, { qps: 20, concurrency: 8 });
  const c = done.counts!;
  assert.equal(c.read, c.rejected + c.superseded + c.unchanged + c.uploaded + c.failed + c.pending);
  assert.deepEqual(r.runs[1]!.plan, { new: 2, changed: 3 });
  assert.equal(r.runs[0]!.duration_ms, null, 'a dead run has no duration');
  assert.deepEqual(r.failures.map((f) => [f.sub_code, f.rows]).sort(), [['INVALID_PARAMETER', 1], ['biz_success:false', 1]]);
  assert.deepEqual(r.agreements, [{ status: 'NORMAL', count: 3 }]);
  assert.equal(r.notifications.received, 1);
  assert.deepEqual(r.certificates, []);
});

test('status piped: TSV blocks with a header each; certificates of certificate mode, with a warning near expiry', async () => {
  const path = busyLedger();
  const text = await status(path, { isTTY: false });
  const blocks = text.trimEnd().split('\n\n').map((b) => b.split('\n').map((l) => l.split('\t')));
  assert.deepEqual(blocks.map((b) => b[0]![0]), ['run', 'dataset', 'failed_dataset', 'agreement_status', 'notifications_received', 'certificate']);
  for (const b of blocks) for (const row of b) assert.equal(row.length, b[0]!.length, 'every row has as many cells as its header');
  const run1 = blocks[0]!.find((r) => r[0] === '1')!;
  assert.match(run1[3]!, /^2026-03-01T\d\d:00:00[+-]\d\d:\d\d$/, 'local time with its offset');
  assert.equal(run1[blocks[0]![0]!.indexOf('files')], '/data/exports/a.csv /data/exports/出口-b.csv');
  // certificate mode: the run writes when its certificates end; status shows them, and warns 30 days ahead
  const l = new Ledger(path, { hashKey: randomBytes(32), rebind: true });
  l.setCertificateExpiries(JSON.stringify([
    { role: 'app', sn: 'a1b2c3', validTo: '2026-03-20T00:00:00.000Z' }, { role: 'alipay', sn: 'd4e5f6', validTo: '2027-03-01T00:00:00.000Z' },
  ]));
  l.close();
  const withCerts = await status(path, { isTTY: true, columns: 100 });
  assert.match(withCerts, /Certificates \(of the last run in certificate mode\):\ncertificate +ends +days left +SN\napp certificate +2026-03-20 \d\d:00:00 +18 +a1b2c3\nAlipay certificate +2027-03-01 \d\d:00:00 +364 +d4e5f6/);
  assert.match(withCerts, /warning: the app certificate \(--app-cert\) expires on 2026-03-20 \(in 18 days\): renew it/);
  assert.doesNotMatch(withCerts, /warning: the Alipay certificate/);
  assert.match(await status(path, { isTTY: false }), /\napp certificate\ta1b2c3\t2026-03-20T\d\d:00:00[+-]\d\d:\d\d\t18\n/);
  const json = JSON.parse(await status(path, {}, { json: true })) as StatusReport;
  assert.deepEqual(json.certificates[0], {
    name: 'app certificate', role: 'app', serial: 'a1b2c3', not_after: '2026-03-20T00:00:00.000Z', days_left: 18,
    warning: 'the app certificate (--app-cert) expires on 2026-03-20 (in 18 days): renew it in the Alipay console (开发设置 → 接口加签方式) and give the new file',
  });
});

test('status tells refused rows (sent again only by retry or --retry-failed) from rows given up on after gateway trouble (sent by the next run)', async () => {
  const path = join(tempDir(), 'ledger.db');
  const l = new Ledger(path, { hashKey: randomBytes(32), clock: () => T0 });
  const run = l.startRun(D, 'upload borrow-entities a.csv', ['a.csv'], false);
  l.stage(run, D, ['k1', 'k2', 'k3'].map((key) => ({ key, snapshot: 's', bizContent: '{}', file: 'a.csv', line: 2 })));
  const [a, b, c] = l.claimPending(D, 0, 10);
  l.recordResult({ rowid: a!.rowid, runId: run, status: 'failed', attempts: 1, code: '40004', subCode: 'INFOSEC_VERIFY_FAILED', reason: 'INFOSEC_VERIFY_FAILED: 内容安全校验不通过' });
  l.recordResult({ rowid: b!.rowid, runId: run, status: 'failed', attempts: 5, code: '20000', subCode: 'isp.unknow-error', reason: '服务暂不可用', retryable: true });
  l.recordResult({ rowid: c!.rowid, runId: run, status: 'failed', attempts: 1, code: '40004', subCode: 'isp.unknow-error', reason: '系统繁忙' });
  l.finishRun(run, 'done', 1, { read: 3, rejected: 0, superseded: 0, unchanged: 0, uploaded: 0, failed: 3, pending: 0 });
  l.close();
  const text = await status(path, { isTTY: true, columns: 200 });
  assert.doesNotMatch(text, /rerun the same files/);
  const refused = /Refused by Alipay for their content, by sub_code \(not sent again while unchanged\):\n {2}fix them in your files .*alipay-sync retry <dataset> --sub-code <sub_code>\n {2}\(or upload <dataset> <files> --retry-failed --sub-code <sub_code>\)\n(.*\n){3}/.exec(text);
  assert.ok(refused, text);
  assert.match(refused[0], /INFOSEC_VERIFY_FAILED +1/);
  assert.match(refused[0], /isp\.unknow-error +1 +系统繁忙/);
  const trouble = /Failed after gateway trouble .*:\n {2}the next run of the dataset sends them again by itself .*\n {2}or now: alipay-sync retry <dataset>\n.*\n.*\n/.exec(text);
  assert.ok(trouble, text);
  assert.match(trouble[0], /isp\.unknow-error +1 +服务暂不可用/);
  const json = JSON.parse(await status(path, {}, { json: true })) as StatusReport;
  assert.deepEqual(json.failures.map((f) => [f.sub_code, f.refused]).sort(), [['INFOSEC_VERIFY_FAILED', true], ['isp.unknow-error', false], ['isp.unknow-error', true]]);
  assert.match(await status(path, { isTTY: false }), /failed_dataset\tsub_code\trows\texample\trefused\n(.*\t(yes|no)\n){3}/);
});

test('status reads without a trace: no -wal or -shm left beside the ledger, and those of a live writer are left alone', async () => {
  const path = busyLedger();
  assert.ok(!existsSync(path + '-wal') && !existsSync(path + '-shm'));
  const r = await runCli(['status', '--ledger', path]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^run\tdataset\tstatus\t/, 'TSV when piped');
  assert.ok(!existsSync(path + '-wal') && !existsSync(path + '-shm'), 'a read-only status leaves no files behind');
  // A run holds the ledger open: its -wal and -shm stay, status still reads what it committed.
  const writer = new Ledger(path, { hashKey: randomBytes(32), rebind: true });
  try {
    writer.startRun(D, 'upload borrow-entities live.csv', ['live.csv'], false);
    const live = await runCli(['status', '--ledger', path, '--json']);
    assert.equal(live.code, 0, live.stderr);
    assert.equal((JSON.parse(live.stdout) as StatusReport).runs[0]!.files[0], 'live.csv');
    assert.ok(existsSync(path + '-wal'), 'the writer\'s -wal is not touched');
  } finally {
    writer.close();
  }
});
