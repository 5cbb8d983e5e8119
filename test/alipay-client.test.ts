import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { request } from 'undici';
import { signString, signText, beijingTimestamp } from '../pipeline/alipay/sign.js';
import { readAnswer } from '../pipeline/alipay/response.js';
import { DEFAULT_ANSWERS, judge, judgeBody } from '../pipeline/alipay/classify.js';
import { AnswerVerifier } from '../pipeline/alipay/verify.js';
import type { FaultKind } from '../pipeline/sandbox/faults.js';
import { startSandbox, testKeys } from './helpers/sandbox.js';

const METHOD = 'zhima.merchant.borrow.entity.upload';
let n = 0;
function entity(extra: Record<string, string> = {}): string {
  n++;
  return JSON.stringify({
    product_code: 'w1010100000000002858', category_code: 'umbrella', entity_code: `C${n}`, longitude: '120.1', latitude: '30.2',
    entity_name: '爱心雨伞', collect_rent: 'Y', can_borrow: 'Y', can_borrow_cnt: '1', total_borrow_cnt: '2', upload_time: '2024-05-01 10:00:00', ...extra,
  });
}

async function withFault(kind: FaultKind, extra: Partial<Parameters<typeof startSandbox>[0]> = {}) {
  const sb = await startSandbox({ faults: { rates: { [kind]: 1 } }, ...extra });
  return sb;
}

test('10000 with a valid signature is a success, and the sandbox holds the entity', async () => {
  const sb = await startSandbox();
  const res = await sb.client().call(METHOD, entity());
  assert.equal(res.kind, 'success');
  assert.equal(res.verified, true);
  assert.equal(sb.gateway.borrowEntities.entities().length, 1);
});

test('answers are verified over their exact raw text (the sandbox escapes "/" as Alipay does)', () => {
  const { keys } = testKeys();
  const raw = '{"code":"10000","msg":"Success","url":"https:\\/\\/example.com\\/a"}';
  const body = `{"${METHOD.replaceAll('.', '_')}_response":${raw},"alipay_cert_sn":"abc123","sign":"${signText(raw, keys.alipayPrivateKey)}"}`;
  const a = readAnswer(body, METHOD);
  assert.equal(a.raw, raw);
  assert.equal(a.certSn, 'abc123');
});

test('certificate-mode answers (alipay_cert_sn between node and sign) verify', async () => {
  const sb = await startSandbox({ certSn: '4498aaa8ab0c8986c15c41b36186db7d' });
  const res = await sb.client().call(METHOD, entity());
  assert.equal(res.kind, 'success');
});

for (const kind of ['tamper', 'wrong_key', 'unsigned', 'duplicate_key'] as const) {
  test(`a forged answer (${kind}) is run-fatal and never a success`, async () => {
    const sb = await withFault(kind);
    const res = await sb.client().call(METHOD, entity());
    assert.equal(res.kind, 'run-fatal', res.reason);
    assert.notEqual(res.kind, 'success');
  });
}

test('an answer signed by another key is run-fatal (client holds the wrong Alipay public key)', async () => {
  const sb = await startSandbox();
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  const res = await sb.client({ alipayPublicKey: other }).call(METHOD, entity());
  assert.equal(res.kind, 'run-fatal');
  assert.equal(res.code, 'UNVERIFIED');
});

test('a non-JSON 200 answer (an error page, a cut body) is transient; JSON that is not an answer is run-fatal', async () => {
  const judge = (text: string) => judgeBody(text, METHOD, DEFAULT_ANSWERS, () => true);
  assert.deepEqual([judge('<html>oops</html>').kind, judge('<html>oops</html>').code], ['transient', 'NON_JSON']);
  assert.equal(judge('{"a":1').kind, 'transient');
  assert.equal(judge('{"other_response":{"code":"10000"}}').kind, 'run-fatal');
});

test('judge is the one place outcomes are built: no answer, an HTTP status, an answer too large, a body', () => {
  const never = () => assert.fail('nothing to verify');
  const timeout = judge({ failed: true, error: new Error('aborted'), timedOut: true }, METHOD, DEFAULT_ANSWERS, never);
  assert.deepEqual([timeout.kind, timeout.code], ['transient', 'TIMEOUT']);
  const reset = judge({ failed: true, error: Object.assign(new Error('reset'), { code: 'ECONNRESET' }), timedOut: false }, METHOD, DEFAULT_ANSWERS, never);
  assert.deepEqual([reset.kind, reset.code, reset.subCode], ['transient', 'NETWORK', 'ECONNRESET']);
  const denied = judge({ status: 403, text: '<h1>denied 13812345678</h1>' }, METHOD, DEFAULT_ANSWERS, never);
  assert.deepEqual([denied.kind, denied.httpStatus], ['run-fatal', 403]);
  assert.doesNotMatch(denied.reason, /13812345678/, 'the excerpt is masked');
  const big = judge({ status: 200, text: '', over: true, maxBytes: 4 }, METHOD, DEFAULT_ANSWERS, never);
  assert.deepEqual([big.kind, big.code], ['transient', 'TOO_LARGE']);
  assert.match(big.reason, /larger than 4 bytes/);
  const body = '{"zhima_merchant_borrow_entity_upload_response":{"code":"10000","msg":"Success"},"sign":"c2ln"}';
  assert.equal(judge({ status: 200, text: body }, METHOD, DEFAULT_ANSWERS, (raw, sign) => raw === '{"code":"10000","msg":"Success"}' && sign === 'c2ln').kind, 'success');
  const forged = judge({ status: 200, text: body }, METHOD, DEFAULT_ANSWERS, () => false);
  assert.deepEqual([forged.kind, forged.code], ['run-fatal', 'UNVERIFIED']);
  const unsigned = judge({ status: 200, text: '{"zhima_merchant_borrow_entity_upload_response":{"code":"10000","msg":"Success"}}' }, METHOD, DEFAULT_ANSWERS, never);
  assert.deepEqual([unsigned.kind, unsigned.code], ['run-fatal', 'UNVERIFIED']);
});

// ---- the classification table of alipay-protocol.md, one row each, against the sandbox's switches

test('20000 isp.unknow-error → transient', async () => {
  const sb = await withFault('unavailable');
  const res = await sb.client().call(METHOD, entity());
  assert.equal(res.kind, 'transient');
  assert.equal(res.code, '20000');
  assert.equal(sb.gateway.borrowEntities.entities().length, 0);
});

test('20001 aop.invalid-app-auth-token → run-fatal', async () => {
  const sb = await startSandbox({ appAuthTokens: ['202401BBgood'] });
  const res = await sb.client({ appAuthToken: '202401BBbad' }).call(METHOD, entity());
  assert.equal(res.kind, 'run-fatal');
  assert.equal(res.code, '20001');
  assert.equal(res.subCode, 'aop.invalid-app-auth-token');
  const good = await sb.client({ appAuthToken: '202401BBgood' }).call(METHOD, entity());
  assert.equal(good.kind, 'success');
});

test('40001 missing common parameter → run-fatal', async () => {
  const sb = await startSandbox();
  const c = sb.client();
  const { url, body } = c.buildRequest(METHOD, entity());
  const u = new URL(url);
  u.searchParams.delete('timestamp');
  const res = await request(u, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const verifier = new AnswerVerifier(sb.keys.alipayPublicKey);
  const outcome = judgeBody(await res.body.text(), METHOD, DEFAULT_ANSWERS, (raw, sign) => verifier.verify(raw, sign));
  assert.equal(outcome.kind, 'run-fatal');
  assert.equal(outcome.code, '40001');
  assert.equal(outcome.subCode, 'isv.missing-timestamp');
});

test('40002 invalid signature / app id / timestamp / method → run-fatal', async () => {
  const sb = await startSandbox();
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const sig = await sb.client({ privateKey: otherKey }).call(METHOD, entity());
  assert.deepEqual([sig.kind, sig.code, sig.subCode], ['run-fatal', '40002', 'isv.invalid-signature']);
  const app = await sb.client({ appId: '2021999999999999' }).call(METHOD, entity());
  assert.deepEqual([app.kind, app.code, app.subCode, app.verified], ['run-fatal', '40002', 'isv.invalid-app-id', false]);
  const skew = await sb.client({ clock: () => Date.now() - 3600_000 }).call(METHOD, entity());
  assert.deepEqual([skew.kind, skew.subCode], ['run-fatal', 'isv.invalid-timestamp']);
  const method = await sb.client().call('alipay.no.such.method', entity());
  assert.deepEqual([method.kind, method.subCode], ['run-fatal', 'isv.invalid-method']);
});

test('40004 business failure → row-fatal; 40004 SYSTEM_ERROR → transient', async () => {
  const sb = await startSandbox();
  const c = sb.client();
  const bad = await c.call(METHOD, entity({ category_code: 'bicycle' }));
  assert.deepEqual([bad.kind, bad.code, bad.subCode], ['row-fatal', '40004', 'CATEGORY_CODE_ILLEGAL']);
  const empty = await c.call(METHOD, entity({ entity_name: '' }));
  assert.deepEqual([empty.kind, empty.subCode], ['row-fatal', 'NULL_ARGUMENT']);
  const long = await c.call(METHOD, entity({ entity_name: '伞'.repeat(21) }));
  assert.deepEqual([long.kind, long.subCode], ['row-fatal', 'ILLEGAL_ARGUMENT']);
  const sensitive = await c.call(METHOD, entity({ entity_name: '敏感词雨伞' }));
  assert.deepEqual([sensitive.kind, sensitive.subCode], ['row-fatal', 'INFOSEC_VERIFY_FAILED']);
  const busy = await (await withFault('system_error')).client().call(METHOD, entity());
  assert.deepEqual([busy.kind, busy.subCode], ['transient', 'SYSTEM_ERROR']);
});

test('40005 call limited → transient with slow-down', async () => {
  const sb = await withFault('limited');
  const res = await sb.client().call(METHOD, entity());
  assert.equal(res.kind, 'transient');
  assert.equal(res.slowDown, true);
});

test('40006 insufficient permissions → run-fatal', async () => {
  const sb = await startSandbox({ forbiddenMethods: [METHOD] });
  const res = await sb.client().call(METHOD, entity());
  assert.deepEqual([res.kind, res.code, res.subCode], ['run-fatal', '40006', 'isv.insufficient-isv-permissions']);
});

test('HTTP 502 → transient; dropped connection → transient; slow answer past the timeout → transient', async () => {
  const http = await (await withFault('http502')).client().call(METHOD, entity());
  assert.deepEqual([http.kind, http.code], ['transient', 'HTTP_502']);
  const drop = await (await withFault('drop')).client().call(METHOD, entity());
  assert.deepEqual([drop.kind, drop.code], ['transient', 'NETWORK']);
  const slow = await (await startSandbox({ faults: { rates: { slow: 1 }, slowMs: 2000 } })).client({ requestTimeoutMs: 200 }).call(METHOD, entity());
  assert.deepEqual([slow.kind, slow.code], ['transient', 'TIMEOUT']);
});

test('the request is split as the gateway expects and signed over exactly what is sent', async () => {
  const sb = await startSandbox();
  const c = sb.client({ appAuthToken: 'tok' });
  const { url, body, params } = c.buildRequest(METHOD, entity());
  const q = new URL(url).searchParams;
  assert.equal(q.get('biz_content'), null, 'biz_content travels in the body');
  assert.equal(q.get('app_auth_token'), 'tok');
  assert.equal(q.get('timestamp'), params.timestamp);
  assert.match(params.timestamp!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.ok(Math.abs(Date.parse(params.timestamp!.replace(' ', 'T') + '+08:00') - Date.now()) < 5000);
  const sent: Record<string, string> = Object.fromEntries(q);
  sent.biz_content = new URLSearchParams(body).get('biz_content')!;
  assert.equal(signString(sent), signString(params));
  assert.equal(beijingTimestamp(0), '1970-01-01 08:00:00');
});
