import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlipaySdk } from 'alipay-sdk';
import { parseBeijingTimestamp, signString, signText } from '../pipeline/alipay/sign.js';
import { join } from 'node:path';
import { decodeNotificationBody, parseNotificationBody, verifyNotification } from '../pipeline/notify/verify.js';
import { NotifyServer } from '../pipeline/notify/server.js';
import { silentLogger } from '../pipeline/log.js';
import { Ledger } from '../state/ledger.js';
import { formBody, javaSignContent, postForm, signAsAlipay } from './helpers/notices.js';
import { tempDir } from './helpers/tmp.js';
import { dutUserSignNotification, sendNotification, signNotification } from '../pipeline/sandbox/notify-sender.js';
import { AgreementStore } from '../pipeline/sandbox/methods/agreements.js';
import { testKeys } from './helpers/sandbox.js';

const { keys } = testKeys();
const APP_ID = '2021000000000001';
const LOGON = 'zhangsan.wei@example.com';
const NOW = Date.UTC(2024, 4, 2, 4, 30, 0); // 2024-05-02 12:30:00 in Beijing

function agreement() {
  const store = new AgreementStore([{
    agreement_no: '20240501000000000001', alipay_user_id: '2088101122675263', alipay_logon_id: LOGON,
    personal_product_code: 'GENERAL_WITHHOLDING_P', sign_scene: 'INDUSTRY|MEDICAL', status: 'NORMAL',
    external_agreement_no: 'EXT1', sign_time: '2024-05-01 10:00:00', valid_time: '2024-05-01 10:00:05',
  }]);
  return store.get('20240501000000000001')!;
}

function signed(extra: Record<string, string> = {}, key: KeyObject = keys.alipayPrivateKey): Record<string, string> {
  return signNotification({ ...dutUserSignNotification(agreement(), APP_ID), ...extra }, key, 'RSA2', NOW);
}

/** A merchant's notify_url: decodes once, verifies, answers `success` only for a good notification. */
let server: Server;
let notifyUrl = '';
const received: { form: Record<string, string>; ok: boolean }[] = [];
before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = parseNotificationBody(Buffer.concat(chunks).toString('utf8'));
      const check = verifyNotification(form, keys.alipayPublicKey);
      received.push({ form, ok: check.ok });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(check.ok ? 'success' : 'fail');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  notifyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('dutUserSignNotification carries the seed\'s fields, the logon id masked', () => {
  const fields = dutUserSignNotification(agreement(), APP_ID);
  assert.deepEqual(fields, {
    notify_type: 'dut_user_sign', app_id: APP_ID, auth_app_id: APP_ID, external_agreement_no: 'EXT1',
    agreement_no: '20240501000000000001', personal_product_code: 'GENERAL_WITHHOLDING_P', valid_time: '2024-05-01 10:00:05',
    invalid_time: '2115-02-01 00:00:00', alipay_logon_id: 'zh**********@example.com', sign_scene: 'INDUSTRY|MEDICAL',
    sign_time: '2024-05-01 10:00:00', alipay_user_id: '2088101122675263', status: 'NORMAL',
  });
  assert.equal(dutUserSignNotification(agreement(), '2021000000000009', { authAppId: APP_ID }).auth_app_id, APP_ID);
});

test('signNotification adds notify_id, a Beijing notify_time, sign_type and sign; keeps a given notify_id', () => {
  const form = signed();
  assert.match(form.notify_id ?? '', /^[0-9a-f]{32}$/);
  assert.equal(form.notify_time, '2024-05-02 12:30:00');
  assert.equal(parseBeijingTimestamp(form.notify_time!), NOW);
  assert.equal(form.sign_type, 'RSA2');
  assert.ok(form.sign);
  assert.notEqual(signed().notify_id, form.notify_id);
  // a resend carries the same notify_id
  assert.equal(signed({ notify_id: 'abc123' }).notify_id, 'abc123');
  // empty values are neither signed nor sent
  assert.equal('device_id' in signed({ device_id: '' }), false);
});

test('a signed notification verifies; RSA (SHA1) too', () => {
  assert.deepEqual(verifyNotification(signed(), keys.alipayPublicKey), { ok: true });
  const rsa = signNotification(dutUserSignNotification(agreement(), APP_ID), keys.alipayPrivateKey, 'RSA', NOW);
  assert.equal(rsa.sign_type, 'RSA');
  assert.equal(verifyNotification(rsa, keys.alipayPublicKey).ok, true);
  // an RSA signature does not pass as RSA2
  assert.equal(verifyNotification({ ...rsa, sign_type: 'RSA2' }, keys.alipayPublicKey).ok, false);
});

test('a tampered value, another key, a missing sign, an unknown sign_type all fail, and say why without values', () => {
  const form = signed();
  const tampered = verifyNotification({ ...form, status: 'STOP' }, keys.alipayPublicKey);
  assert.equal(tampered.ok, false);
  assert.match(tampered.reason ?? '', /does not verify/);
  assert.equal(verifyNotification({ ...form, extra: 'x' }, keys.alipayPublicKey).ok, false);
  const { agreement_no: _dropped, ...missingField } = form;
  assert.equal(verifyNotification(missingField, keys.alipayPublicKey).ok, false);
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  assert.equal(verifyNotification(form, otherKey.publicKey).ok, false);
  assert.equal(verifyNotification(signed({}, otherKey.privateKey), keys.alipayPublicKey).ok, false);
  const { sign: _s, ...unsigned } = form;
  assert.deepEqual(verifyNotification(unsigned, keys.alipayPublicKey), { ok: false, reason: 'the notification carries no sign' });
  assert.deepEqual(verifyNotification({ ...form, sign: '' }, keys.alipayPublicKey).ok, false);
  assert.match(verifyNotification({ ...form, sign_type: 'MD5' }, keys.alipayPublicKey).reason ?? '', /unsupported sign_type/);
  for (const r of [tampered.reason, verifyNotification(form, otherKey.publicKey).reason]) assert.ok(!r?.includes('zh**'));
});

test('an empty value is signed as `k=`: kept in the check, as rsaCheckV1/V2 and checkNotifySign keep it', () => {
  const fields = { ...dutUserSignNotification(agreement(), APP_ID), notify_id: 'n-empty', notify_time: '2024-05-02 12:30:00', forex_eligible: '', device_id: '' };
  const form = signAsAlipay(fields, keys.alipayPrivateKey);
  assert.ok(javaSignContent(form).includes('&device_id=&'), 'the string Alipay signs has the empty pair');
  assert.deepEqual(verifyNotification(form, keys.alipayPublicKey), { ok: true });
  // the pair is part of what was signed: leaving it out, or adding one that was not signed, breaks the signature
  const { forex_eligible: _f, ...without } = form;
  assert.equal(verifyNotification(without, keys.alipayPublicKey).ok, false);
  assert.equal(verifyNotification({ ...signed(), forex_eligible: '' }, keys.alipayPublicKey).ok, false);
  // and the official Node SDK judges both the same way
  const sdk = new AlipaySdk({
    appId: APP_ID,
    privateKey: keys.appPrivateKey.export({ format: 'pem', type: 'pkcs1' }) as string,
    alipayPublicKey: keys.alipayPublicKey.export({ format: 'pem', type: 'spki' }) as string,
  });
  assert.equal(sdk.checkNotifySignV2({ ...form }), true);
  assert.equal(sdk.checkNotifySignV2({ ...without }), false);
});

test('V1 leaves out sign and sign_type, V2 only sign; empty values stay in both', () => {
  const base = { ...dutUserSignNotification(agreement(), APP_ID), notify_id: 'n-v2', notify_time: '2024-05-02 12:30:00', zm_open_id: '' };
  const v1 = signAsAlipay(base, keys.alipayPrivateKey);
  const v2 = signAsAlipay(base, keys.alipayPrivateKey, { v2: true });
  assert.ok(!javaSignContent(v1).includes('sign_type') && javaSignContent(v1, true).includes('sign_type=RSA2'));
  assert.equal(verifyNotification(v1, keys.alipayPublicKey).ok, true);
  assert.equal(verifyNotification(v2, keys.alipayPublicKey).ok, true);
  assert.equal(verifyNotification({ ...v2, zm_open_id: 'x' }, keys.alipayPublicKey).ok, false);
  // RSA (SHA1), V2 with its empty value
  const rsa = signAsAlipay(base, keys.alipayPrivateKey, { v2: true, signType: 'RSA' });
  assert.equal(verifyNotification(rsa, keys.alipayPublicKey).ok, true);
});

test('a GBK notification is decoded by its charset and verified over its GBK bytes; an unknown charset is refused', () => {
  const fields = {
    ...dutUserSignNotification(agreement(), APP_ID), notify_id: 'n-gbk', notify_time: '2024-05-02 12:30:00', charset: 'GBK',
    sign_scene: 'INDUSTRY|MEDICAL', merchant_memo: '杭州西湖店 100%+',
  };
  const form = signAsAlipay(fields, keys.alipayPrivateKey, { charset: 'GBK' });
  const body = formBody(form, 'GBK');
  // as UTF-8 the Chinese text is garbled (and the signature cannot match)
  assert.notEqual(parseNotificationBody(body.toString('latin1')).merchant_memo, fields.merchant_memo);
  const decoded = decodeNotificationBody(body, 'application/x-www-form-urlencoded');
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.form, form);
  assert.deepEqual(verifyNotification(decoded.form, keys.alipayPublicKey), { ok: true });
  assert.equal(verifyNotification({ ...decoded.form, merchant_memo: '杭州西湖店 100%' }, keys.alipayPublicKey).ok, false);
  // the form's charset wins over the header's; with neither, UTF-8
  const headerSaysUtf8 = decodeNotificationBody(body, 'application/x-www-form-urlencoded; charset=utf-8');
  assert.equal(headerSaysUtf8.ok && headerSaysUtf8.form.merchant_memo, fields.merchant_memo);
  const noField = formBody({ a: '小红' }, 'GBK');
  const byHeader = decodeNotificationBody(noField, 'application/x-www-form-urlencoded; charset=GBK');
  assert.equal(byHeader.ok && byHeader.form.a, '小红');
  const unknown = decodeNotificationBody(Buffer.from('charset=klingon&a=1'));
  assert.deepEqual(unknown, { ok: false, reason: 'unsupported charset "klingon"' });
  assert.match(verifyNotification({ ...form, charset: 'klingon' }, keys.alipayPublicKey).reason ?? '', /unsupported charset/);
});

test('decodeNotificationBody decodes once, like parseNotificationBody: + is a space, %2B a plus, a bad escape stays', () => {
  const body = Buffer.from('a=1+2&b=1%2B2&c=100%&d=%zz&e=&f=x&f=y&__proto__=p&g=%E5%B0%8F%25E5');
  const decoded = decodeNotificationBody(body);
  assert.ok(decoded.ok);
  assert.deepEqual({ ...decoded.form }, { ...parseNotificationBody(body.toString('latin1')), g: '小%E5' });
  assert.equal(Object.getOwnPropertyDescriptor(decoded.form, '__proto__')?.value, 'p');
  assert.equal(Object.getPrototypeOf(decoded.form), Object.prototype);
});

test('NotifyServer over HTTP: a GBK notification with an empty field is verified and applied', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  const server = new NotifyServer({ ledgerPath: join(dir, 'l.db'), alipayPublicKey: keys.alipayPublicKey, appId: APP_ID, logger: silentLogger });
  const url = await server.start();
  try {
    const fields = { ...dutUserSignNotification(agreement(), APP_ID), notify_id: 'n-http', notify_time: '2024-05-02 12:30:00', charset: 'GBK', merchant_memo: '西湖店', forex_eligible: '' };
    const form = signAsAlipay(fields, keys.alipayPrivateKey, { charset: 'GBK' });
    assert.deepEqual(await postForm(url, formBody(form, 'GBK')), { status: 200, body: 'success' });
    assert.deepEqual(await postForm(url, formBody({ ...form, merchant_memo: '东湖店' }, 'GBK')), { status: 400, body: 'fail' });
    assert.deepEqual(await postForm(url, Buffer.from('charset=klingon&sign=x')), { status: 400, body: 'fail' });
  } finally {
    await server.stop();
  }
  const ledger = new Ledger(join(dir, 'l.db'));
  try {
    const a = ledger.agreement('20240501000000000001')!;
    assert.equal(a.status, 'NORMAL');
    assert.equal(a.fields.merchant_memo, '西湖店');
    assert.deepEqual(a.history.map((h) => [h.status, h.applied]), [['NORMAL', true]]);
  } finally {
    ledger.close();
  }
});

test('a notification signed with sign_type included (some interfaces do) also verifies', () => {
  const fields: Record<string, string> = { ...dutUserSignNotification(agreement(), APP_ID), notify_id: 'n1', notify_time: '2024-05-02 12:30:00', sign_type: 'RSA2' };
  const form: Record<string, string> = { ...fields, sign: signText(signString(fields), keys.alipayPrivateKey) };
  assert.equal(verifyNotification(form, keys.alipayPublicKey).ok, true);
  assert.equal(verifyNotification({ ...form, status: 'TEMP' }, keys.alipayPublicKey).ok, false);
  // and such a signature needs the sign_type it covered
  const { sign_type: _t, ...withoutType } = form;
  assert.equal(verifyNotification(withoutType, keys.alipayPublicKey).ok, false);
});

test('values with %, + and spaces survive one decode: sent as a form, received, verified, unchanged', async () => {
  received.length = 0;
  const tricky = { external_logon_id: 'a+b 100%25 %zz 小红 &x=y', device_id: '%E5%B0%8F+1' };
  const form = signed(tricky);
  const reply = await sendNotification(notifyUrl, form);
  assert.deepEqual(reply, { status: 200, body: 'success' });
  assert.equal(received.length, 1);
  assert.equal(received[0]!.ok, true);
  assert.deepEqual(received[0]!.form, form);
  assert.equal(received[0]!.form.external_logon_id, tricky.external_logon_id);
  // decoding a second time would change the value (or throw) and break the signature
  assert.notEqual(decodeURIComponent(tricky.device_id), tricky.device_id);
  const twice = { ...form, device_id: decodeURIComponent(form.device_id!) };
  assert.equal(verifyNotification(twice, keys.alipayPublicKey).ok, false);
});

test('parseNotificationBody: + is a space, %2B a plus, a bad escape stays, the last duplicate wins, __proto__ is a plain field', () => {
  const form = parseNotificationBody('a=1+2&b=1%2B2&c=100%&d=%zz&e=&f=x&f=y&__proto__=p');
  assert.equal(form.a, '1 2');
  assert.equal(form.b, '1+2');
  assert.equal(form.c, '100%');
  assert.equal(form.d, '%zz');
  assert.equal(form.e, '');
  assert.equal(form.f, 'y');
  assert.equal(Object.getOwnPropertyDescriptor(form, '__proto__')?.value, 'p');
  assert.equal(Object.getPrototypeOf(form), Object.prototype);
});

test('a forged notification posted to the receiver is refused (not `success`, so Alipay would resend)', async () => {
  received.length = 0;
  const reply = await sendNotification(notifyUrl, { ...signed(), status: 'STOP' });
  assert.deepEqual(reply, { status: 200, body: 'fail' });
  assert.equal(received[0]?.ok, false);
});

test('the official alipay-sdk accepts our signed notification (checkNotifySignV2), and refuses a changed one', () => {
  const sdk = new AlipaySdk({
    appId: APP_ID,
    privateKey: keys.appPrivateKey.export({ format: 'pem', type: 'pkcs1' }) as string,
    alipayPublicKey: keys.alipayPublicKey.export({ format: 'pem', type: 'spki' }) as string,
  });
  const form = signed({ external_logon_id: 'a+b 100%' });
  assert.equal(sdk.checkNotifySignV2({ ...form }), true);
  assert.equal(sdk.checkNotifySignV2({ ...form, status: 'STOP' }), false);
  const rsa = signNotification(dutUserSignNotification(agreement(), APP_ID), keys.alipayPrivateKey, 'RSA', NOW);
  assert.equal(sdk.checkNotifySignV2({ ...rsa }), true);
});
