/**
 * OpenID end to end (issue 12, item 3): the CLI as a user runs it against the sandbox with an app on OpenID
 * (behaviour openId): effect and query rows that name users by alipay_open_id, the open ids of answers kept in the
 * ledger and exported in new last columns, the sandbox's notifications carrying open ids stored by notify serve;
 * and, for an app that is not on OpenID, longer 2088 user ids.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { NotifyServer } from '../pipeline/notify/server.js';
import { silentLogger } from '../pipeline/log.js';
import type { SeedAgreement } from '../pipeline/sandbox/methods/agreements.js';
import { Ledger } from '../state/ledger.js';
import { lastJson, runCli } from './helpers/cli.js';
import { startSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';

const P = 'GENERAL_WITHHOLDING_P';
const O1 = '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5';
const O2 = '074b2DdUH2MfmyLf5yRD1ahOeJe1oyj06c6mtOqbaXZpDp6';
const U1 = '2088101122675263';
const OLD_COLUMNS = 'alipay_user_id,alipay_logon_id,agreement_no,status,sign_scene,personal_product_code,third_party_type,sign_time,valid_time,invalid_time,pricipal_type,principal_id';

const seed: SeedAgreement[] = [
  { agreement_no: '20240501000000000001', alipay_user_id: U1, alipay_open_id: O1, personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'TEMP', external_agreement_no: 'EXT1' },
  { agreement_no: '20240501000000000002', alipay_open_id: O1, personal_product_code: P, sign_scene: 'INDUSTRY|GYM', status: 'NORMAL' },
  { agreement_no: '20240501000000000003', alipay_open_id: O2, personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'TEMP' },
  { agreement_no: '20240501000000000004', alipay_user_id: U1, alipay_open_id: O1, personal_product_code: P, sign_scene: 'INDUSTRY|CARRENTAL', status: 'TEMP', external_agreement_no: 'EXT4' },
];

test('an app on OpenID: effect and query rows by alipay_open_id end to end; open ids stored, notified and exported last; a row with no user id rejected with file, line and field', async () => {
  const sb = await startSandbox({ agreements: seed, behaviours: { openId: true } });
  const dir = tempDir();
  const notifyLedger = join(dir, 'notify.db');
  new Ledger(notifyLedger).close();
  const receiver = new NotifyServer({ ledgerPath: notifyLedger, alipayPublicKey: sb.keys.alipayPublicKey, appId: sb.gateway.appId, logger: silentLogger });
  const notifyUrl = await receiver.start();
  const ledgerPath = join(dir, 'ledger.db');
  try {
    const effects = writeFile(dir, 'effects.csv', [
      'agreement_no,external_agreement_no,sign_scene,personal_product_code,alipay_user_id,alipay_open_id,alipay_logon_id',
      `,EXT1,INDUSTRY|MEDICAL,${P},,${O1},`, // line 2: TEMP by open id → NORMAL
      `,EXT9,INDUSTRY|MEDICAL,${P},,,`, // line 3: no user at all
      `,EXT1,INDUSTRY|MEDICAL,${P},${U1},${O1},`, // line 4: both ids
      '20240501000000000003,,,,,,', // line 5: by number, a user known by open id only
      `,EXT4,INDUSTRY|CARRENTAL,${P},${U1},,`, // line 6: a user id, which an app on OpenID cannot use
    ].join('\n') + '\n');
    const rejects = join(dir, 'rejects.csv');
    const r = await runCli(['agreements', 'effect', effects, ...sb.flags, '--ledger', ledgerPath, '--rejects', rejects, '--notify-url', notifyUrl, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const s = lastJson(r.stdout);
    assert.deepEqual([s.read, s.rejected, s.uploaded, s.failed, s.pending], [5, 2, 2, 1, 0]);
    assert.match(r.stderr, /USER_NOT_EXIST_ERROR: no such Alipay user .*an app on OpenID knows its users by alipay_open_id only/);
    const rej = parse(readFileSync(rejects, 'utf8'), { columns: true, bom: true }) as Record<string, string>[];
    assert.deepEqual(rej.map((x) => [x.line, x.field, x.file]), [['3', 'alipay_user_id', effects], ['4', 'alipay_open_id', effects]]);
    assert.match(rej[0]!.reason!, /one of alipay_user_id, alipay_open_id or alipay_logon_id is required/);
    assert.equal(sb.gateway.agreements.get('20240501000000000001')!.status, 'NORMAL');
    assert.equal(sb.gateway.agreements.get('20240501000000000003')!.status, 'NORMAL');

    const ledger = new Ledger(ledgerPath);
    try {
      const a1 = ledger.agreement('20240501000000000001')!;
      assert.deepEqual([a1.status, a1.alipay_user_id, a1.alipay_open_id, a1.principal_open_id], ['NORMAL', null, O1, O1]);
      assert.equal(ledger.agreement('20240501000000000003')!.principal_open_id, O2);
    } finally {
      ledger.close();
    }
    // the sandbox announced both (with notify_url), naming the user by open id; notify serve verified and kept them
    await sb.gateway.notificationsSettled();
    assert.deepEqual(sb.gateway.notifications.map((n) => n.body), ['success', 'success']);
    const notified = new Ledger(notifyLedger);
    try {
      const n1 = notified.agreement('20240501000000000001')!;
      assert.deepEqual([n1.status, n1.alipay_open_id, n1.alipay_user_id, n1.history.map((h) => h.source)], ['NORMAL', O1, null, ['notify']]);
      assert.equal(notified.agreement('20240501000000000003')!.alipay_open_id, O2);
    } finally {
      notified.close();
    }

    // query by open id (and a logon id that is not known): the export keeps its old columns first, open ids last
    const users = writeFile(dir, 'users.csv', `alipay_open_id,personal_product_code\n${O1},${P}\n${O2},${P}\n`);
    const out = join(dir, 'agreements.csv');
    const q = await runCli(['agreements', 'query', users, ...sb.flags, '--ledger', ledgerPath, '--out', out, '--json']);
    assert.equal(q.code, 0, q.stderr);
    const text = readFileSync(out, 'utf8');
    assert.equal(text.split('\n')[0], `\uFEFF${OLD_COLUMNS},alipay_open_id,principal_open_id`);
    const rows = parse(text, { columns: true, bom: true }) as Record<string, string>[];
    assert.deepEqual(rows.map((x) => [x.agreement_no, x.status, x.alipay_user_id, x.principal_id, x.alipay_open_id, x.principal_open_id]).sort(), [
      ['20240501000000000001', 'NORMAL', '', '', O1, O1],
      ['20240501000000000002', 'NORMAL', '', '', O1, O1],
      ['20240501000000000003', 'NORMAL', '', '', O2, O2],
      ['20240501000000000004', 'TEMP', '', '', O1, O1],
    ]);
    const again = new Ledger(ledgerPath);
    try {
      assert.deepEqual([again.agreement('20240501000000000002')!.alipay_open_id, again.agreement('20240501000000000004')!.principal_open_id], [O1, O1]);
    } finally {
      again.close();
    }
  } finally {
    await receiver.stop();
  }
});

test('an app not on OpenID: longer 2088 user ids (17 and 32 digits) are asked and exported; the open id columns stay empty', async () => {
  const long17 = '20881011226752631';
  const long32 = '2088'.padEnd(32, '3');
  const sb = await startSandbox({
    agreements: [
      { agreement_no: '20240501000000000011', alipay_user_id: long17, personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'NORMAL' },
      { agreement_no: '20240501000000000012', alipay_user_id: long32, personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'STOP' },
    ],
  });
  const dir = tempDir();
  const users = writeFile(dir, 'users.csv', `alipay_user_id,personal_product_code\n${long17},${P}\n${long32},${P}\n${long32}4,${P}\n`);
  const out = join(dir, 'agreements.csv');
  const r = await runCli(['agreements', 'query', users, ...sb.flags, '--ledger', join(dir, 'l.db'), '--out', out, '--json']);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual([lastJson(r.stdout).uploaded, lastJson(r.stdout).rejected], [2, 1], 'a 33-digit id is rejected');
  assert.match(r.stderr, /users\.csv:4: rejected: alipay_user_id: is 33 characters, at most 32/);
  const rows = parse(readFileSync(out, 'utf8'), { columns: true, bom: true }) as Record<string, string>[];
  assert.deepEqual(rows.map((x) => [x.alipay_user_id, x.principal_id, x.status, x.alipay_open_id, x.principal_open_id]).sort(), [
    [long17, long17, 'NORMAL', '', ''], [long32, long32, 'STOP', '', ''],
  ]);
});
