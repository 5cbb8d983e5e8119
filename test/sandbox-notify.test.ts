/**
 * The sandbox's notifications as a merchant's notify_url receives them: forms decoded and their signatures
 * checked here with node:crypto, dut_user_sign and dut_user_unsign, and notices that arrive out of order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { sign as rsaSign, verify as rsaVerify } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { waitUntil } from './helpers/wait.js';
import { startSandbox, testKeys, type TestSandbox } from './helpers/sandbox.js';

const P = 'GENERAL_WITHHOLDING_P';
const USER = '2088101122675263';
const T = { timeout: 20_000 };
const SEED = [
  { agreement_no: '20240501000000000001', alipay_user_id: USER, alipay_logon_id: 'zhangsan.wei@example.com', personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'NORMAL' as const, external_agreement_no: 'EXT1', external_logon_id: '13852852877', sign_time: '2024-05-01 10:00:00', valid_time: '2024-05-01 10:00:05' },
  { agreement_no: '20240501000000000002', alipay_user_id: USER, alipay_logon_id: '13812345678', personal_product_code: P, sign_scene: 'INDUSTRY|CARRENTAL', status: 'TEMP' as const },
];

interface Received {
  form: Record<string, string>;
  at: number;
}

/**
 * A notify_url: records every form; answers `fail` to the first `failFirst` deliveries, `success` after. With
 * `holdFailsUntil` a `fail` is answered only once that many notices arrived, so that what the sandbox sends
 * after it (its resend) follows them whatever the machine's load, instead of racing its 50 ms backoff.
 */
async function receiver(failFirst = 0, holdFailsUntil = 0): Promise<{ url: string; got: Received[]; close: () => Promise<void> }> {
  const got: Received[] = [];
  const held: (() => void)[] = [];
  let seen = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) form[k] = v;
      got.push({ form, at: Date.now() });
      if (seen++ < failFirst) held.push(() => res.end('fail'));
      else res.end('success');
      if (got.length >= holdFailsUntil) for (const answer of held.splice(0)) answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/notify`, got,
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

/** Alipay's notification check, by hand: drop sign and sign_type, drop empty values, sort, join k=v with '&'. */
function verifies(form: Record<string, string>): boolean {
  const text = Object.keys(form).filter((k) => k !== 'sign' && k !== 'sign_type' && form[k] !== '').sort().map((k) => `${k}=${form[k]}`).join('&');
  const hash = form.sign_type === 'RSA' ? 'sha1' : 'sha256';
  return rsaVerify(hash, Buffer.from(text, 'utf8'), testKeys().keys.alipayPublicKey, Buffer.from(form.sign ?? '', 'base64'));
}

async function admin(sb: TestSandbox, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(sb.url.replace('/gateway.do', '/_sandbox/notify'), { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}


test('POST /_sandbox/notify type "unsign": a signed dut_user_unsign (status UNSIGN, invalid_time now), and the agreement is gone', T, async () => {
  const sb = await startSandbox({ agreements: SEED });
  const r = await receiver();
  const before = Date.now();
  const res = await admin(sb, { url: r.url, agreement_no: '20240501000000000001', type: 'unsign' });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  await waitUntil(() => r.got.length === 1, { ms: 5000, what: '1 notice(s) at the receiver' });
  const f = r.got[0]!.form;
  assert.equal(verifies(f), true);
  assert.equal(f.notify_type, 'dut_user_unsign');
  assert.equal(f.status, 'UNSIGN');
  assert.equal(f.charset, 'utf-8');
  assert.equal(f.agreement_no, '20240501000000000001');
  assert.equal(f.alipay_logon_id, 'zh**********@example.com', 'masked');
  assert.equal(f.external_logon_id, '13852852877');
  assert.equal(f.sign_time, '2024-05-01 10:00:00');
  assert.equal(f.valid_time, '2024-05-01 10:00:05');
  for (const k of ['invalid_time', 'notify_time', 'unsign_time'] as const) {
    assert.match(f[k] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, k);
    const ms = Date.parse(`${f[k]!.replace(' ', 'T')}+08:00`);
    assert.ok(ms >= before - 1000 && ms <= Date.now() + 1000, `${k} is now (Beijing)`);
  }
  assert.ok(f.notify_id && f.sign_type === 'RSA2');
  assert.equal(sb.gateway.agreements.get('20240501000000000001')?.status, 'UNSIGN');
  assert.equal(sb.gateway.agreements.forUser({ userId: USER }).some((a) => a.agreement_no === '20240501000000000001'), false);
  await r.close();
  await sb.stop();
});

test('an older notice after a newer one: "notices" with age_ms and delay_ms arrive in that order, each with its own notify_time', T, async () => {
  const sb = await startSandbox({ agreements: SEED });
  const r = await receiver();
  const res = await admin(sb, {
    url: r.url, agreement_no: '20240501000000000001',
    notices: [{ type: 'unsign' }, { type: 'sign', age_ms: 3_600_000, delay_ms: 150 }],
  });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  await waitUntil(() => r.got.length === 2, { ms: 5000, what: '2 notice(s) at the receiver' });
  const [first, second] = r.got.map((g) => g.form) as [Record<string, string>, Record<string, string>];
  assert.equal(first.notify_type, 'dut_user_unsign');
  assert.equal(second.notify_type, 'dut_user_sign');
  assert.equal(second.status, 'NORMAL', 'the sign notice describes the agreement as it was when live');
  assert.equal(second.invalid_time, '2115-02-01 00:00:00');
  assert.ok(second.notify_time! < first.notify_time!, `older ${second.notify_time} arrives after newer ${first.notify_time}`);
  assert.ok(verifies(first) && verifies(second));
  await r.close();
  await sb.stop();
});

test('resends are not ordered: a sign notice the receiver failed arrives again after a newer unsign notice, with its old notify_id and time', T, async (t) => {
  const sb = await startSandbox({ agreements: SEED });
  const r = await receiver(1, 2);
  t.after(() => Promise.all([r.close(), sb.stop()]));
  assert.equal((await admin(sb, { url: r.url, agreement_no: '20240501000000000001', type: 'sign' })).status, 200);
  await waitUntil(() => r.got.length === 1, { ms: 5000, what: '1 notice(s) at the receiver' });
  assert.equal((await admin(sb, { url: r.url, agreement_no: '20240501000000000001', type: 'unsign', age_ms: 0 })).status, 200);
  await waitUntil(() => r.got.length === 3, { ms: 5000, what: '3 notice(s) at the receiver' });
  assert.deepEqual(r.got.map((g) => g.form.notify_type), ['dut_user_sign', 'dut_user_unsign', 'dut_user_sign']);
  const [failed, unsign, resent] = r.got.map((g) => g.form) as [Record<string, string>, Record<string, string>, Record<string, string>];
  assert.equal(resent.notify_id, failed.notify_id, 'a resend is the same notice');
  assert.equal(resent.notify_time, failed.notify_time);
  assert.ok(resent.notify_time! <= unsign.notify_time!);
  await sb.gateway.notificationsSettled();
  assert.deepEqual(sb.gateway.notifications.map((n) => [n.type, n.body]), [['unsign', 'success'], ['sign', 'fail'], ['sign', 'success']], 'the failed sign notice was answered after the unsign one');
});

test('sign.effect with notify_url: dut_user_sign carries charset, version, notify_time, sign_time, valid_time, invalid_time, status, the masked logon id', T, async () => {
  const sb = await startSandbox({ agreements: SEED });
  const r = await receiver();
  // A request signed by hand, notify_url among the common parameters.
  const params: Record<string, string> = {
    app_id: sb.gateway.appId, method: 'alipay.user.agreement.sign.effect', format: 'JSON', charset: 'utf-8', sign_type: 'RSA2',
    timestamp: new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' '), version: '1.0', notify_url: r.url,
    biz_content: JSON.stringify({ agreement_no: '20240501000000000002' }),
  };
  const text = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&');
  params.sign = rsaSign('sha256', Buffer.from(text, 'utf8'), testKeys().keys.appPrivateKey).toString('base64');
  const res = await fetch(sb.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' }, body: new URLSearchParams(params).toString() });
  assert.match(await res.text(), /"code":"10000"/);
  await waitUntil(() => r.got.length === 1, { ms: 5000, what: '1 notice(s) at the receiver' });
  const f = r.got[0]!.form;
  assert.equal(verifies(f), true);
  assert.equal(f.notify_type, 'dut_user_sign');
  assert.equal(f.status, 'NORMAL');
  assert.equal(f.charset, 'utf-8');
  assert.equal(f.version, '1.0');
  assert.equal(f.alipay_logon_id, '138****5678');
  for (const k of ['notify_time', 'sign_time', 'valid_time', 'invalid_time']) assert.match(f[k] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, k);
  await r.close();
  await sb.stop();
});

test('POST /_sandbox/notify says what is wrong: unknown agreement, bad type, bad delay', T, async () => {
  const sb = await startSandbox({ agreements: SEED });
  assert.equal((await admin(sb, { url: 'http://127.0.0.1:9/n', agreement_no: 'nope' })).status, 400);
  assert.match(String((await admin(sb, { url: 'http://127.0.0.1:9/n', agreement_no: '20240501000000000001', type: 'cancel' })).json.error), /"sign" or "unsign"/);
  assert.match(String((await admin(sb, { url: 'http://127.0.0.1:9/n', agreement_no: '20240501000000000001', delay_ms: -1 })).json.error), /delay_ms/);
  assert.equal(sb.gateway.agreements.get('20240501000000000001')?.status, 'NORMAL', 'a refused request changes nothing');
  await sb.stop();
});
