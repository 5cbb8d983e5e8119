/**
 * The sandbox's switches at the HTTP level: raw bytes, headers and signatures checked with node:crypto directly
 * (no client code in the way), so each shows what a real client meets on the wire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { createPrivateKey, createPublicKey, sign as rsaSign, verify as rsaVerify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSandbox, testKeys } from './helpers/sandbox.js';
import { spawnCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';
import { contract } from './helpers/people.js';
import { FaultPlan } from '../pipeline/sandbox/faults.js';

const WORKER = 'alipay.ins.scene.contract.workersaas.upload';
const BORROW = 'zhima.merchant.borrow.entity.upload';
const EFFECT = 'alipay.user.agreement.sign.effect';
const QUERY_ONE = 'alipay.user.agreement.query';
const P = 'GENERAL_WITHHOLDING_P';
const USER = '2088101122675263';
const T = { timeout: 20_000 };

interface Wire {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** ms from the request to the headers, and to the last byte */
  headersAt: number;
  doneAt: number;
  chunks: number;
}

function beijingNow(): string {
  return new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** A request signed here, by hand: every param but sign, sorted, `k=v` joined with '&', RSA over UTF-8. */
function signedParams(appId: string, method: string, biz: unknown, key: KeyObject, signType: 'RSA' | 'RSA2' = 'RSA2', extra: Record<string, string> = {}): Record<string, string> {
  const params: Record<string, string> = {
    app_id: appId, method, format: 'JSON', charset: 'utf-8', sign_type: signType, timestamp: beijingNow(), version: '1.0',
    biz_content: JSON.stringify(biz), ...extra,
  };
  const text = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&');
  params.sign = rsaSign(signType === 'RSA' ? 'sha1' : 'sha256', Buffer.from(text, 'utf8'), key).toString('base64');
  return params;
}

function post(url: string, params: Record<string, string>, path = ''): Promise<Wire> {
  const started = Date.now();
  const body = new URLSearchParams(params).toString();
  return new Promise((resolve, reject) => {
    const req = httpRequest(url + path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' } }, (res) => {
      const headersAt = Date.now() - started;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), headersAt, doneAt: Date.now() - started, chunks: chunks.length }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function call(url: string, appId: string, method: string, biz: unknown, signType: 'RSA' | 'RSA2' = 'RSA2'): Promise<Wire> {
  return post(url, signedParams(appId, method, biz, testKeys().keys.appPrivateKey, signType));
}

/** The exact text of the `*_response` node and the sign, cut out of a body shaped {"<node>":{…},"sign":"…"}. */
function split(text: string, method: string): { node: string; sign: string | undefined } {
  const prefix = `{"${method.replaceAll('.', '_')}_response":`;
  assert.ok(text.startsWith(prefix), `body starts with ${prefix}: ${text.slice(0, 80)}`);
  const at = text.lastIndexOf(',"sign":"');
  if (at < 0) return { node: text.slice(prefix.length, -1), sign: undefined };
  return { node: text.slice(prefix.length, at), sign: JSON.parse(text.slice(at + 8, -1)) as string };
}

function verifies(text: string, sign: string | undefined, hash: 'sha1' | 'sha256' = 'sha256'): boolean {
  return sign !== undefined && rsaVerify(hash, Buffer.from(text, 'utf8'), testKeys().keys.alipayPublicKey, Buffer.from(sign, 'base64'));
}

function entity(over: Record<string, string> = {}): Record<string, string> {
  return {
    product_code: 'w1010100000000002858', category_code: 'umbrella', entity_code: 'E1', longitude: '120.1', latitude: '30.2',
    entity_name: '爱心雨伞', collect_rent: 'Y', rent_desc: '5元/小时', can_borrow: 'Y', can_borrow_cnt: '12', total_borrow_cnt: '20',
    upload_time: '2024-05-01 10:00:00', ...over,
  };
}

test('answers are signed with the request\'s sign_type: RSA → SHA1withRSA, RSA2 → SHA256withRSA', T, async () => {
  const sb = await startSandbox();
  for (const [signType, hash, other] of [['RSA', 'sha1', 'sha256'], ['RSA2', 'sha256', 'sha1']] as const) {
    const w = await call(sb.url, sb.gateway.appId, BORROW, entity(), signType);
    const { node, sign } = split(w.body.toString('utf8'), BORROW);
    assert.equal(node, '{"code":"10000","msg":"Success"}');
    assert.equal(verifies(node, sign, hash), true, `${signType} answer verifies with ${hash}`);
    assert.equal(verifies(node, sign, other), false, `${signType} answer does not verify with ${other}`);
  }
  await sb.stop();
});

test('behaviour noBizSuccess: a worker-contract success is exactly {"code":"10000","msg":"Success"}; without it biz_success is there', T, async () => {
  const plain = await startSandbox();
  const c = contract(1);
  const before = split((await call(plain.url, plain.gateway.appId, WORKER, c)).body.toString('utf8'), WORKER);
  assert.equal(before.node, '{"code":"10000","msg":"Success","biz_success":true}');
  await plain.stop();
  const sb = await startSandbox({ behaviours: { noBizSuccess: true } });
  const w = await call(sb.url, sb.gateway.appId, WORKER, c);
  const { node, sign } = split(w.body.toString('utf8'), WORKER);
  assert.equal(node, '{"code":"10000","msg":"Success"}');
  assert.equal(verifies(node, sign), true);
  assert.equal(sb.gateway.workerContracts.contracts().length, 1, 'the contract is stored all the same');
  await sb.stop();
});

test('default: a second sign.effect of a NORMAL agreement is 40004 USER_AGREEMENT_PERIOD_CONFILICT; behaviour effectAgainSucceeds answers success', T, async () => {
  const seed = [{ agreement_no: '20240501000000000001', alipay_user_id: USER, personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'TEMP' as const }];
  const sb = await startSandbox({ agreements: seed });
  const first = split((await call(sb.url, sb.gateway.appId, EFFECT, { agreement_no: '20240501000000000001' })).body.toString('utf8'), EFFECT);
  assert.match(first.node, /"code":"10000".*"status":"NORMAL"/);
  const again = split((await call(sb.url, sb.gateway.appId, EFFECT, { agreement_no: '20240501000000000001' })).body.toString('utf8'), EFFECT);
  assert.deepEqual(JSON.parse(again.node), { code: '40004', msg: 'Business Failed', sub_code: 'USER_AGREEMENT_PERIOD_CONFILICT', sub_msg: '协议生效周期不匹配' });
  assert.equal(verifies(again.node, again.sign), true);
  sb.gateway.behaviours.effectAgainSucceeds = true;
  const ok = split((await call(sb.url, sb.gateway.appId, EFFECT, { agreement_no: '20240501000000000001' })).body.toString('utf8'), EFFECT);
  assert.equal(ok.node, first.node, 'answered as it is');
  await sb.stop();
});

test('behaviour unescapedSlash: the body escapes / as \\/ but the signature covers the text with plain /', T, async () => {
  // A broken payload is repeated in sub_msg: an answer with '/' in it.
  const biz = contract(2, { payload: '{"url":"https://example.com/a/b"' });
  const plain = await startSandbox();
  const d = split((await call(plain.url, plain.gateway.appId, WORKER, biz)).body.toString('utf8'), WORKER);
  assert.ok(d.node.includes('https:\\/\\/example.com\\/a\\/b'), d.node);
  assert.equal(verifies(d.node, d.sign), true, 'by default the signature covers the body text as sent');
  await plain.stop();

  const sb = await startSandbox({ behaviours: { unescapedSlash: true } });
  const { node, sign } = split((await call(sb.url, sb.gateway.appId, WORKER, biz)).body.toString('utf8'), WORKER);
  assert.ok(node.includes('https:\\/\\/example.com\\/a\\/b'), 'the body still escapes /');
  assert.equal(verifies(node, sign), false, 'the body text as sent does not verify');
  assert.equal(verifies(node.replaceAll('\\/', '/'), sign), true, 'the text with plain / does');
  // Through the admin endpoint too, and off again.
  const off = await fetch(sb.url.replace('/gateway.do', '/_sandbox/behaviours'), { method: 'POST', body: '{"unescapedSlash":false}' });
  assert.deepEqual(await off.json(), { unescapedSlash: false });
  const back = split((await call(sb.url, sb.gateway.appId, WORKER, biz)).body.toString('utf8'), WORKER);
  assert.equal(verifies(back.node, back.sign), true);
  await sb.stop();
});

test('fault gbk_error: 20000 isp.unknow-error 系统繁忙 in a GBK body, Content-Type text/html;charset=GBK, signed over its text', T, async () => {
  const sb = await startSandbox({ faults: { rates: { gbk_error: 1 } } });
  const w = await call(sb.url, sb.gateway.appId, BORROW, entity());
  assert.equal(w.status, 200);
  assert.match(String(w.headers['content-type']), /^text\/html;\s*charset=GBK$/i);
  // 系统繁忙 in GBK: CF B5 CD B3 B7 B1 C3 A6; not valid UTF-8
  assert.ok(w.body.includes(Buffer.from([0xcf, 0xb5, 0xcd, 0xb3, 0xb7, 0xb1, 0xc3, 0xa6])), 'GBK bytes on the wire');
  assert.ok(!w.body.toString('utf8').includes('系统繁忙'), 'read as UTF-8 it is garbage');
  const text = new TextDecoder('gbk').decode(w.body);
  const { node, sign } = split(text, BORROW);
  assert.deepEqual(JSON.parse(node), { code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error', sub_msg: '系统繁忙' });
  assert.equal(verifies(node, sign), true, 'the decoded text verifies');
  assert.equal(sb.gateway.borrowEntities.entities().length, 0, 'nothing was stored');
  await sb.stop();
});

test('fault invalid_parameter: 40002 isv.invalid-parameter 参数无效, sub_msg naming a field of the request; nothing stored', T, async () => {
  const sb = await startSandbox({ faults: { rates: { invalid_parameter: 1 } } });
  const { node, sign } = split((await call(sb.url, sb.gateway.appId, BORROW, entity())).body.toString('utf8'), BORROW);
  const fields = JSON.parse(node) as Record<string, string>;
  assert.equal(fields.code, '40002');
  assert.equal(fields.sub_code, 'isv.invalid-parameter');
  assert.match(fields.sub_msg ?? '', /^参数无效/);
  assert.ok(Object.keys(entity()).some((k) => fields.sub_msg!.includes(k)), 'names a field');
  assert.equal(verifies(node, sign), true);
  assert.equal(sb.gateway.borrowEntities.entities().length, 0);
  await sb.stop();
});

test('faults http403, http407, http408, http413, http429, html200: what a proxy answers, HTML not JSON, nothing stored', T, async () => {
  const expect = { http403: 403, http407: 407, http408: 408, http413: 413, http429: 429, html200: 200 } as const;
  for (const [kind, status] of Object.entries(expect)) {
    const sb = await startSandbox({ faults: { rates: { [kind]: 1 } } });
    const w = await call(sb.url, sb.gateway.appId, BORROW, entity());
    assert.equal(w.status, status, kind);
    assert.match(String(w.headers['content-type']), /^text\/html/, kind);
    assert.match(w.body.toString('utf8'), /<html/i, kind);
    assert.throws(() => JSON.parse(w.body.toString('utf8')), kind);
    if (kind === 'http407') assert.ok(w.headers['proxy-authenticate']);
    if (kind === 'http429') assert.equal(w.headers['retry-after'], '1');
    assert.equal(sb.gateway.borrowEntities.entities().length, 0, kind);
    assert.equal(sb.gateway.requests.at(-1)?.fault, kind);
    await sb.stop();
  }
});

test('fault trickle: headers at once, then the right answer one byte every trickleMs', T, async () => {
  assert.equal(new FaultPlan().trickleMs, 1000, 'default 1000 ms');
  const sb = await startSandbox({ faults: { rates: { trickle: 1 }, trickleMs: 4 } });
  const w = await call(sb.url, sb.gateway.appId, BORROW, entity());
  const { node, sign } = split(w.body.toString('utf8'), BORROW);
  assert.equal(node, '{"code":"10000","msg":"Success"}');
  assert.equal(verifies(node, sign), true);
  assert.ok(w.headersAt < 1000, `headers after ${w.headersAt} ms`);
  assert.ok(w.doneAt >= (w.body.length - 1) * 4 * 0.9, `${w.body.length} bytes in ${w.doneAt} ms`);
  assert.ok(w.chunks > w.body.length / 4, `${w.chunks} chunks for ${w.body.length} bytes`);
  assert.equal(sb.gateway.borrowEntities.entities().length, 1, 'the upload itself happened');
  await sb.stop();
});

test('fault oversized: a 200 answer of exactly oversizedBytes of valid, signed JSON', T, async () => {
  assert.equal(new FaultPlan().oversizedBytes, 8 * 1024 * 1024, 'default 8 MiB');
  const sb = await startSandbox({ faults: { rates: { oversized: 1 }, oversizedBytes: 1024 * 1024 } });
  const w = await call(sb.url, sb.gateway.appId, BORROW, entity());
  assert.equal(w.status, 200);
  assert.equal(w.body.length, 1024 * 1024);
  const text = w.body.toString('utf8');
  JSON.parse(text);
  const { node, sign } = split(text, BORROW);
  assert.equal((JSON.parse(node) as Record<string, string>).code, '10000');
  assert.equal(verifies(node, sign), true);
  await sb.stop();
});

test('alipay.user.agreement.query: one agreement by agreement_no, by user + product (+ scene), by external number; unknown is USER_AGREEMENT_NOT_EXIST', T, async () => {
  const seed = [
    { agreement_no: '20240501000000000001', alipay_user_id: USER, alipay_logon_id: '13812345678', personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', status: 'NORMAL' as const, external_agreement_no: 'EXT1', external_logon_id: 'shop/user-7', sign_time: '2024-05-01 10:00:00', valid_time: '2024-05-01 10:00:05' },
    { agreement_no: '20240501000000000002', alipay_user_id: USER, personal_product_code: P, sign_scene: 'INDUSTRY|CARRENTAL', status: 'TEMP' as const, sign_time: '2024-05-02 10:00:00' },
  ];
  const sb = await startSandbox({ agreements: seed });
  const ask = async (biz: Record<string, string>) => {
    const { node, sign } = split((await call(sb.url, sb.gateway.appId, QUERY_ONE, biz)).body.toString('utf8'), QUERY_ONE);
    assert.equal(verifies(node, sign), true);
    return JSON.parse(node) as Record<string, string>;
  };
  const one = await ask({ agreement_no: '20240501000000000001' });
  assert.deepEqual(one, {
    code: '10000', msg: 'Success', agreement_no: '20240501000000000001', alipay_logon_id: '138****5678', external_agreement_no: 'EXT1',
    external_logon_id: 'shop/user-7', invalid_time: '2115-02-01 00:00:00', personal_product_code: P, pricipal_type: 'CARD', principal_id: USER,
    sign_scene: 'INDUSTRY|MEDICAL', sign_time: '2024-05-01 10:00:00', status: 'NORMAL', third_party_type: 'PARTNER', valid_time: '2024-05-01 10:00:05',
  });
  assert.equal((await ask({ personal_product_code: P, alipay_user_id: USER, sign_scene: 'INDUSTRY|CARRENTAL' })).agreement_no, '20240501000000000002');
  assert.equal((await ask({ personal_product_code: P, alipay_user_id: USER })).agreement_no, '20240501000000000002', 'the newest signed');
  assert.equal((await ask({ personal_product_code: P, alipay_logon_id: '13812345678', sign_scene: 'INDUSTRY|MEDICAL' })).agreement_no, '20240501000000000001');
  assert.equal((await ask({ personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', external_agreement_no: 'EXT1' })).agreement_no, '20240501000000000001');
  const none = { code: '40004', msg: 'Business Failed', sub_code: 'USER_AGREEMENT_NOT_EXIST', sub_msg: '用户协议不存在' };
  assert.deepEqual(await ask({ agreement_no: '20249999999999999999' }), none);
  assert.deepEqual(await ask({ personal_product_code: 'CYCLE_PAY_AUTH_P', alipay_user_id: USER }), none);
  assert.deepEqual(await ask({ personal_product_code: P, sign_scene: 'INDUSTRY|MEDICAL', external_agreement_no: 'NOPE' }), none);
  assert.equal((await ask({ alipay_user_id: USER })).sub_code, 'INVALID_PARAMETER');
  assert.equal((await ask({ personal_product_code: P, alipay_user_id: '12345' })).sub_code, 'INVALID_PARAMETER');
  await sb.stop();
});

test('CLI: sandbox --behave NAME switches a behaviour on, --fault takes the new kinds, an unknown behaviour is exit 2', T, async () => {
  const dir = tempDir();
  const keysDir = join(dir, 'keys');
  const { child, done } = spawnCli(['sandbox', '--port', '0', '--keys-dir', keysDir, '--behave', 'noBizSuccess', '--fault', 'gbk_error=1'], { timeoutMs: 15_000 });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /listening on (\S+)/.exec(out);
      if (m && out.includes('Ctrl-C')) resolve(m[1]!);
    });
    child.on('close', () => reject(new Error(`sandbox exited: ${out}`)));
  });
  try {
    assert.match(out, /behaviours: noBizSuccess/);
    assert.match(out, /faults: gbk_error=1/);
    const key = createPrivateKey({ key: Buffer.from(readFileSync(join(keysDir, 'app_private_key.txt'), 'utf8').trim(), 'base64'), format: 'der', type: 'pkcs8' });
    const alipayPublic = createPublicKey({ key: Buffer.from(readFileSync(join(keysDir, 'alipay_public_key.txt'), 'utf8').trim(), 'base64'), format: 'der', type: 'spki' });
    const gbk = await post(url, signedParams('2021000000000001', WORKER, contract(3), key));
    assert.match(String(gbk.headers['content-type']), /charset=GBK/i);
    await fetch(url.replace('/gateway.do', '/_sandbox/faults'), { method: 'POST', body: '{}' });
    const w = await post(url, signedParams('2021000000000001', WORKER, contract(3), key));
    const { node, sign } = split(w.body.toString('utf8'), WORKER);
    assert.equal(node, '{"code":"10000","msg":"Success"}');
    assert.equal(rsaVerify('sha256', Buffer.from(node), alipayPublic, Buffer.from(sign!, 'base64')), true);
  } finally {
    child.kill('SIGTERM');
    await done;
  }
  const bad = await spawnCli(['sandbox', '--port', '0', '--keys-dir', join(dir, 'k2'), '--behave', 'alwaysHappy'], { timeoutMs: 15_000 }).done;
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /alwaysHappy/);
});
