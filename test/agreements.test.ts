import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { lastJson, runCli, spawnCli } from './helpers/cli.js';
import { startSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { Ledger } from '../state/ledger.js';
import type { SeedAgreement } from '../pipeline/sandbox/methods/agreements.js';
import { dutUserSignNotification, sendNotification, signNotification } from '../pipeline/sandbox/notify-sender.js';

const P = 'GENERAL_WITHHOLDING_P';
const U1 = '2088101122675263';
const U2 = '2088101122675264';
const U3 = '2088101122675265';
const seed: SeedAgreement[] = [
  { agreement_no: '20170322000000000001', alipay_user_id: U1, personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'TEMP', external_agreement_no: 'EXT1' },
  { agreement_no: '20170322000000000002', alipay_user_id: U1, personal_product_code: P, sign_scene: 'INDUSTRY|CARRENTAL', status: 'NORMAL' },
  { agreement_no: '20170322000000000003', alipay_user_id: U2, personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'STOP' },
  { agreement_no: '20170322000000000004', alipay_user_id: U2, personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'TEMP', external_agreement_no: 'EXT4', alipay_logon_id: 'zhang.wei@example.com' },
  { agreement_no: '20170322000000000005', alipay_user_id: U3, personal_product_code: P, sign_scene: 'INDUSTRY|GYM', status: 'NORMAL', third_party_type: 'MERCHANT' },
];

test('agreements effect: TEMP made NORMAL, NORMAL confirmed, STOP and unknown fail with their meaning; the rerun skips the NORMAL ones', async () => {
  const sb = await startSandbox({ agreements: seed });
  const dir = tempDir();
  const csv = writeFile(dir, 'effect.csv', [
    'agreement_no,external_agreement_no,sign_scene,personal_product_code,alipay_user_id',
    '20170322000000000001,,,,', // TEMP
    '20170322000000000002,,,,', // NORMAL
    '20170322000000000003,,,,', // STOP
    '20170322999999999999,,,,', // unknown
    `,EXT4,INDUSTRY|MEDICAL,${P},${U2}`, // TEMP by external number
    `,EXT9,DEFAULT|DEFAULT,${P},${U2}`, // invalid: default scene
  ].join('\n') + '\n');
  const ledgerPath = join(dir, 'ledger.db');
  const args = ['agreements', 'effect', csv, ...sb.flags, '--ledger', ledgerPath, '--json', '--backoff-ms', '5'];
  const r = await runCli(args);
  assert.equal(r.code, 1, r.stderr);
  const s = lastJson(r.stdout);
  assert.deepEqual([s.read, s.rejected, s.uploaded, s.failed, s.unchanged, s.pending], [6, 1, 3, 2, 0, 0]);
  assert.match(r.stderr, /USER_AGREEMENT_STATUS_ABNORMAL: the agreement cannot be made effective/);
  assert.match(r.stderr, /USER_AGREEMENT_NOT_EXIST: no such agreement/);
  assert.match(r.stderr, /sign_scene/);
  assert.equal(sb.gateway.agreements.get('20170322000000000001')!.status, 'NORMAL');
  assert.equal(sb.gateway.agreements.get('20170322000000000004')!.status, 'NORMAL');

  const ledger = new Ledger(ledgerPath);
  const a1 = ledger.agreement('20170322000000000001')!;
  assert.equal(a1.status, 'NORMAL');
  assert.match(String(a1.fields.valid_time), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(a1.fields.principal_id, U1);
  assert.equal(a1.fields.personal_product_code, P);
  assert.equal(ledger.agreement('20170322000000000004')!.fields.alipay_logon_id, 'zh*******@example.com', 'as Alipay masks it');
  ledger.close();

  const before = sb.gateway.requests.length;
  const again = await runCli(args);
  assert.equal(again.code, 1);
  const s2 = lastJson(again.stdout);
  assert.deepEqual([s2.unchanged, s2.uploaded, s2.failed, s2.still_refused], [3, 0, 2, 2], 'the NORMAL ones are skipped; the refused ones, unchanged, are still refused');
  assert.equal(sb.gateway.requests.length, before, 'no request at all');

  // --retry-failed sends the refused ones again (on purpose)
  const retried = await runCli([...args, '--retry-failed']);
  assert.equal(retried.code, 1);
  assert.deepEqual([lastJson(retried.stdout).failed, lastJson(retried.stdout).still_refused], [2, 0]);
  const later = sb.gateway.requests.slice(before);
  assert.equal(later.filter((q) => q.method === 'alipay.user.agreement.sign.effect').length, 2, 'no request for the NORMAL ones');
  // the stopped one answers STATUS_ABNORMAL, whose real state is read back once (STOP: it stays failed)
  assert.equal(later.filter((q) => q.method === 'alipay.user.agreement.query').length, 1);
});

test('agreements effect passes --notify-url through, and a period conflict is read back: an agreement already NORMAL is done', async () => {
  const sb = await startSandbox({ agreements: seed });
  const dir = tempDir();
  // agreement 2 is NORMAL already; the sandbox answers a conflict when asked with scene INDUSTRY|CONFLICT
  const csv = writeFile(dir, 'e.csv', `agreement_no,sign_scene\n20170322000000000001,\n20170322000000000002,INDUSTRY|CONFLICT\n`);
  const r = await runCli(['agreements', 'effect', csv, ...sb.flags, '--ledger', join(dir, 'l.db'), '--notify-url', 'http://127.0.0.1:9/nowhere', '--json']);
  assert.equal(r.code, 0, r.stderr);
  // Agreement 2 is NORMAL already: the sandbox answers its effect with a period conflict (as the page implies),
  // and the client reads the agreement back instead of failing a row whose agreement is in force.
  assert.deepEqual([lastJson(r.stdout).uploaded, lastJson(r.stdout).failed], [2, 0]);
  assert.equal(sb.gateway.requests.filter((q) => q.method === 'alipay.user.agreement.query').length, 1, 'read back once');
  assert.ok(sb.gateway.requests.some((q) => q.subCode === 'USER_AGREEMENT_PERIOD_CONFILICT'), 'the gateway did answer a conflict');
  await sb.gateway.notificationsSettled();
  assert.equal(sb.gateway.notifications[0]?.url, 'http://127.0.0.1:9/nowhere', 'notify_url reached the gateway');
  const bad = await runCli(['agreements', 'effect', csv, ...sb.flags, '--ledger', join(dir, 'l2.db'), '--notify-url', 'not a url']);
  assert.equal(bad.code, 2);
});

test('agreements query: the export lists every agreement of every user with its status; an unknown user fails its row and the export completes', async () => {
  const sb = await startSandbox({ agreements: seed });
  const dir = tempDir();
  const csv = writeFile(dir, 'users.csv', [
    'alipay_user_id,alipay_logon_id,personal_product_code,sign_scene,third_party_type',
    `,zhang.wei@example.com,${P},,`, // U2 by logon id: asked first, so it names U2's agreements in the export
    `${U1},,${P},,`,
    `${U2},,${P},,`, // U2 again by id: the same agreements, exported once
    `${U3},,${P},INDUSTRY|GYM,MERCHANT`,
    `2088000000000001,,${P},,`, // unknown to Alipay
  ].join('\n') + '\n');
  const out = join(dir, 'agreements.csv');
  const ledgerPath = join(dir, 'ledger.db');
  const r = await runCli(['agreements', 'query', csv, ...sb.flags, '--ledger', ledgerPath, '--out', out, '--json']);
  assert.equal(r.code, 1, r.stderr);
  const s = lastJson(r.stdout);
  assert.deepEqual([s.read, s.uploaded, s.failed], [5, 4, 1]);
  assert.match(r.stderr, /USER_NOT_EXIST_ERROR/);
  assert.match(r.stderr, /2088000000000001\|GENERAL_WITHHOLDING_P\|\|\|: failed: USER_NOT_EXIST_ERROR/, 'a user id is an identifier: named in clear');
  // keys as the README says: user ids (and open ids) in clear, only a logon id's key hashed
  const listed = (await runCli(['rows', '--ledger', ledgerPath, '--dataset', 'agreement-queries', '--format', 'jsonl'])).stdout.trim().split('\n').map((l) => (JSON.parse(l) as { key: string }).key);
  assert.deepEqual(listed.map((k) => (k.startsWith('h:') ? 'h:' : k.split('|')[0])), ['h:', U1, U2, U3, '2088000000000001']);
  const story = await runCli(['rows', '--ledger', ledgerPath, '--key', `2088000000000001|${P}|||`]);
  assert.equal(story.code, 0, story.stderr);
  assert.match(story.stdout, /now:\s+failed/);
  assert.ok(existsSync(out) && !existsSync(`${out}.partial`));
  const rows = parse(readFileSync(out, 'utf8'), { columns: true, bom: true }) as Record<string, string>[];
  const got = rows.map((x) => [x.alipay_user_id, x.agreement_no, x.status]).sort();
  assert.deepEqual(got, [
    [U1, '20170322000000000001', 'TEMP'], [U1, '20170322000000000002', 'NORMAL'],
    [U2, '20170322000000000003', 'STOP'], [U2, '20170322000000000004', 'TEMP'],
    [U3, '20170322000000000005', 'NORMAL'],
  ].sort());
  assert.ok(rows.some((x) => x.alipay_logon_id === 'zh*******@example.com'), 'the asked logon id, masked');
  assert.ok(!readFileSync(out, 'utf8').includes('zhang.wei@'));
  assert.deepEqual(Object.keys(rows[0]!).slice(0, 4), ['alipay_user_id', 'alipay_logon_id', 'agreement_no', 'status']);

  // every run asks again; JSON Lines by the name; statuses move and the ledger keeps the history
  sb.gateway.agreements.update('20170322000000000001', { status: 'NORMAL' });
  const jl = join(dir, 'agreements.jsonl');
  const r2 = await runCli(['agreements', 'query', csv, ...sb.flags, '--ledger', ledgerPath, '--out', jl, '--json']);
  assert.equal(lastJson(r2.stdout).uploaded, 4);
  const lines = readFileSync(jl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  assert.equal(lines.find((l) => l.agreement_no === '20170322000000000001')!.status, 'NORMAL');
  const ledger = new Ledger(ledgerPath);
  assert.deepEqual(ledger.agreement('20170322000000000001')!.history.map((h) => h.status), ['TEMP', 'NORMAL']);
  const keys = ledger.recentRuns(1);
  assert.ok(keys.length === 1);
  ledger.close();
  const raw = readFileSync(ledgerPath);
  assert.equal(raw.indexOf(Buffer.from('zhang.wei@example.com')), -1, 'a logon id is not kept in the ledger, not even as a key');

  const noOut = await runCli(['agreements', 'query', csv, ...sb.flags, '--ledger', ledgerPath]);
  assert.equal(noOut.code, 2);
  assert.match(noOut.stderr, /needs --out/);
});

test('notify serve: a good signature is stored and answered success; a forged one is refused and not stored; a resend changes nothing', async () => {
  const sb = await startSandbox({ agreements: seed });
  const dir = tempDir();
  const ledgerPath = join(dir, 'ledger.db');
  new Ledger(ledgerPath).close(); // notify serve updates an existing ledger (a mistyped path is refused)
  const server = spawnCli(['notify', 'serve', '--port', '0', '--ledger', ledgerPath, '--alipay-public-key', sb.files.alipayPublicKey, '--app-id', sb.gateway.appId]);
  let url = '';
  await new Promise<void>((resolve, reject) => {
    server.child.stdout!.on('data', (d: Buffer) => {
      const m = /listening on (\S+)/.exec(String(d));
      if (m) {
        url = m[1]!;
        resolve();
      }
    });
    server.child.on('exit', () => reject(new Error('notify serve exited')));
  });
  try {
    // through the sandbox, as Alipay does it: effect with notify_url announces the agreement
    const csv = writeFile(dir, 'e.csv', 'agreement_no\n20170322000000000001\n');
    const r = await runCli(['agreements', 'effect', csv, ...sb.flags, '--ledger', join(dir, 'runs.db'), '--notify-url', url]);
    assert.equal(r.code, 0, r.stderr);
    await sb.gateway.notificationsSettled();
    assert.deepEqual(sb.gateway.notifications.map((n) => n.body), ['success']);

    const agreement = sb.gateway.agreements.get('20170322000000000004')!;
    const form = signNotification(dutUserSignNotification({ ...agreement, status: 'NORMAL' }, sb.gateway.appId), sb.keys.alipayPrivateKey);
    const forged = signNotification(dutUserSignNotification({ ...agreement, status: 'STOP' }, sb.gateway.appId), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    assert.deepEqual(await sendNotification(url, forged), { status: 400, body: 'fail' });
    assert.deepEqual(await sendNotification(url, { ...form, status: 'STOP' }), { status: 400, body: 'fail' }, 'a changed field fails');
    assert.deepEqual(await sendNotification(url, form), { status: 200, body: 'success' });
    assert.deepEqual(await sendNotification(url, form), { status: 200, body: 'success' }, 'a resend is answered success');
  } finally {
    server.child.kill('SIGINT');
  }
  const done = await server.done;
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stderr, /refused agreement 20170322000000000004/);
  assert.ok(!done.stderr.includes('zhang.wei'), 'no personal value in the logs');
  const ledger = new Ledger(ledgerPath);
  assert.equal(ledger.agreement('20170322000000000001')!.status, 'NORMAL');
  const a4 = ledger.agreement('20170322000000000004')!;
  assert.equal(a4.status, 'NORMAL');
  assert.deepEqual(a4.history.map((h) => [h.status, h.source]), [['NORMAL', 'notify']], 'stored once; the forged STOP never');
  ledger.close();
});
