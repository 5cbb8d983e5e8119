/**
 * One row per gateway outcome: code × sub_code × HTTP status × body shape → what the client makes of it
 * (success / transient / row / run / reconcile), each against the real loopback sandbox gateway with the switch
 * that produces it (faults, behaviours, seeded agreements, a wrong key or clock). The README's outcome table is
 * this table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { request } from 'undici';
import type { CallResult, ClientOptions } from '../pipeline/alipay/client.js';
import { judgeBody, type Outcome, type OutcomeKind } from '../pipeline/alipay/classify.js';
import { AnswerVerifier } from '../pipeline/alipay/verify.js';
import { agreementStatus } from '../sources/agreement-query.js';
import { BORROW, EFFECT, QUERY, WORKER, answersOf } from './helpers/answers.js';
import type { SandboxOptions } from '../pipeline/sandbox/server.js';
import type { FaultKind } from '../pipeline/sandbox/faults.js';
import { startSandbox } from './helpers/sandbox.js';
import { contract } from './helpers/people.js';

const P = 'GENERAL_WITHHOLDING_P';

let n = 0;
function entity(extra: Record<string, string> = {}): string {
  n++;
  return JSON.stringify({
    product_code: 'w1010100000000002858', category_code: 'umbrella', entity_code: `T${n}`, longitude: '120.1', latitude: '30.2',
    entity_name: '爱心雨伞', collect_rent: 'Y', can_borrow: 'Y', can_borrow_cnt: '1', total_borrow_cnt: '2', upload_time: '2024-05-01 10:00:00', ...extra,
  });
}

const agreements: SandboxOptions['agreements'] = [
  { agreement_no: '20240101000000000001', alipay_user_id: '2088101122670001', personal_product_code: P, sign_scene: 'INDUSTRY|GYM', status: 'TEMP' },
  { agreement_no: '20240101000000000002', alipay_user_id: '2088101122670002', personal_product_code: P, sign_scene: 'INDUSTRY|GYM', status: 'NORMAL' },
  { agreement_no: '20240101000000000003', alipay_user_id: '2088101122670003', personal_product_code: P, sign_scene: 'INDUSTRY|GYM', status: 'STOP' },
  {
    agreement_no: '20240101000000000004', alipay_user_id: '2088101122670004', personal_product_code: P, sign_scene: 'INDUSTRY|GYM', status: 'NORMAL',
    external_logon_id: 'https://shop.example.com/u/4',
  },
];

interface Row {
  /** code × sub_code × HTTP status × body shape */
  name: string;
  sandbox?: Partial<SandboxOptions>;
  fault?: FaultKind;
  client?: Partial<ClientOptions>;
  method?: string;
  biz?: () => string;
  expect: { kind: OutcomeKind; code: string; subCode?: string; httpStatus?: number; slowDown?: boolean; verified?: boolean };
  check?: (res: Outcome) => void;
}

const rows: Row[] = [
  // 10000
  { name: '10000, signed RSA2, JSON → success', expect: { kind: 'success', code: '10000', verified: true } },
  {
    name: '10000 from an app that signs with RSA (SHA1withRSA), answer signed RSA → success',
    client: { signType: 'RSA' }, expect: { kind: 'success', code: '10000', verified: true },
  },
  {
    name: '10000 worker contract without biz_success (behaviour noBizSuccess) → success',
    sandbox: { behaviours: { noBizSuccess: true } }, method: WORKER, biz: () => JSON.stringify(contract(1)),
    expect: { kind: 'success', code: '10000' },
    check: (res) => assert.equal(res.fields?.biz_success, undefined),
  },
  {
    name: '10000 worker contract with biz_success false → row',
    method: WORKER, biz: () => JSON.stringify(contract(2, { payload: '{"sandbox":"biz_fail"}' })),
    expect: { kind: 'row-fatal', code: '10000' },
  },
  {
    name: '10000 whose signature covers "/" where the body has "\\/" (behaviour unescapedSlash) → success',
    sandbox: { behaviours: { unescapedSlash: true }, agreements }, method: QUERY, biz: () => '{"agreement_no":"20240101000000000004"}',
    expect: { kind: 'success', code: '10000', verified: true },
    check: (res) => assert.equal(res.fields?.external_logon_id, 'https://shop.example.com/u/4'),
  },
  {
    name: '10000 sign.effect of a NORMAL agreement (behaviour effectAgainSucceeds) → success',
    sandbox: { behaviours: { effectAgainSucceeds: true }, agreements }, method: EFFECT, biz: () => '{"agreement_no":"20240101000000000002"}',
    expect: { kind: 'success', code: '10000' },
  },
  {
    name: '10000 agreement.query → success carrying the status',
    sandbox: { agreements }, method: QUERY, biz: () => '{"agreement_no":"20240101000000000001"}',
    expect: { kind: 'success', code: '10000' },
    check: (res) => assert.equal(agreementStatus(res.fields), 'TEMP'),
  },
  {
    name: '10000 with the answer altered after signing (tamper) → run',
    fault: 'tamper', expect: { kind: 'run-fatal', code: 'UNVERIFIED' },
  },
  { name: '10000 signed by another key (wrong_key) → run', fault: 'wrong_key', expect: { kind: 'run-fatal', code: 'UNVERIFIED' } },
  { name: '10000 without sign (unsigned) → run', fault: 'unsigned', expect: { kind: 'run-fatal', code: 'UNVERIFIED' } },
  { name: '10000 with the response key twice (duplicate_key) → run', fault: 'duplicate_key', expect: { kind: 'run-fatal', code: 'BAD_ANSWER' } },
  // 20000, 20001
  { name: '20000 isp.unknow-error → transient', fault: 'unavailable', expect: { kind: 'transient', code: '20000', subCode: 'isp.unknow-error' } },
  {
    name: '20000 isp.unknow-error 系统繁忙, body in GBK (text/html;charset=GBK) → transient, verified',
    fault: 'gbk_error', expect: { kind: 'transient', code: '20000', subCode: 'isp.unknow-error', verified: true },
    check: (res) => assert.equal(res.subMsg, '系统繁忙'),
  },
  {
    name: '20001 aop.invalid-app-auth-token → run',
    sandbox: { appAuthTokens: ['202401BBgood'] }, client: { appAuthToken: '202401BBbad' },
    expect: { kind: 'run-fatal', code: '20001', subCode: 'aop.invalid-app-auth-token' },
  },
  // 40002
  {
    name: '40002 isv.invalid-signature (another private key) → run',
    client: { privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey },
    expect: { kind: 'run-fatal', code: '40002', subCode: 'isv.invalid-signature' },
  },
  { name: '40002 isv.invalid-app-id → run', client: { appId: '2021999999999999' }, expect: { kind: 'run-fatal', code: '40002', subCode: 'isv.invalid-app-id' } },
  {
    name: '40002 isv.invalid-timestamp (clock an hour off) → run',
    client: { clock: () => Date.now() - 3600_000 }, expect: { kind: 'run-fatal', code: '40002', subCode: 'isv.invalid-timestamp' },
  },
  { name: '40002 isv.invalid-method → run', method: 'alipay.no.such.method', expect: { kind: 'run-fatal', code: '40002', subCode: 'isv.invalid-method' } },
  {
    name: '40002 isv.invalid-parameter 参数无效 (this row) → row',
    fault: 'invalid_parameter', expect: { kind: 'row-fatal', code: '40002', subCode: 'isv.invalid-parameter' },
    check: (res) => assert.match(res.reason, /参数无效/),
  },
  // 40004
  {
    name: '40004 CATEGORY_CODE_ILLEGAL → row',
    biz: () => entity({ category_code: 'bicycle' }), expect: { kind: 'row-fatal', code: '40004', subCode: 'CATEGORY_CODE_ILLEGAL' },
  },
  { name: '40004 SYSTEM_ERROR → transient', fault: 'system_error', expect: { kind: 'transient', code: '40004', subCode: 'SYSTEM_ERROR' } },
  {
    name: '40004 USER_AGREEMENT_PERIOD_CONFILICT (sign.effect of a NORMAL agreement) → reconcile',
    sandbox: { agreements }, method: EFFECT, biz: () => '{"agreement_no":"20240101000000000002"}',
    expect: { kind: 'reconcile', code: '40004', subCode: 'USER_AGREEMENT_PERIOD_CONFILICT' },
    check: (res) => assert.match(res.reason, /already effective/),
  },
  {
    name: '40004 USER_AGREEMENT_STATUS_ABNORMAL (sign.effect of a STOP agreement) → reconcile',
    sandbox: { agreements }, method: EFFECT, biz: () => '{"agreement_no":"20240101000000000003"}',
    expect: { kind: 'reconcile', code: '40004', subCode: 'USER_AGREEMENT_STATUS_ABNORMAL' },
  },
  {
    name: '40004 USER_AGREEMENT_NOT_EXIST (agreement.query) → row',
    sandbox: { agreements }, method: QUERY, biz: () => '{"agreement_no":"20249999999999999999"}',
    expect: { kind: 'row-fatal', code: '40004', subCode: 'USER_AGREEMENT_NOT_EXIST' },
  },
  // 40005, 40006
  { name: '40005 isv.app-call-limited → transient, slow down', fault: 'limited', expect: { kind: 'transient', code: '40005', slowDown: true } },
  {
    name: '40006 isv.insufficient-isv-permissions → run',
    sandbox: { forbiddenMethods: [BORROW] }, expect: { kind: 'run-fatal', code: '40006', subCode: 'isv.insufficient-isv-permissions' },
  },
  // HTTP statuses and bodies that are not answers
  { name: 'HTTP 502 → transient', fault: 'http502', expect: { kind: 'transient', code: 'HTTP_502', httpStatus: 502 } },
  {
    name: 'HTTP 403, HTML page → run, naming the status and the page',
    fault: 'http403', expect: { kind: 'run-fatal', code: 'HTTP_403', httpStatus: 403 },
    check: (res) => assert.match(res.reason, /HTTP 403.*403 Forbidden/),
  },
  {
    name: 'HTTP 407, HTML page → run, naming the status and the page',
    fault: 'http407', expect: { kind: 'run-fatal', code: 'HTTP_407', httpStatus: 407 },
    check: (res) => assert.match(res.reason, /HTTP 407.*Proxy Authentication Required/),
  },
  { name: 'HTTP 408 → transient', fault: 'http408', expect: { kind: 'transient', code: 'HTTP_408', httpStatus: 408 } },
  { name: 'HTTP 413 → row', fault: 'http413', expect: { kind: 'row-fatal', code: 'HTTP_413', httpStatus: 413 } },
  { name: 'HTTP 429 → transient, slow down', fault: 'http429', expect: { kind: 'transient', code: 'HTTP_429', httpStatus: 429, slowDown: true } },
  {
    name: 'HTTP 200, HTML error page (not JSON) → transient, with the page\'s first characters',
    fault: 'html200', expect: { kind: 'transient', code: 'NON_JSON', httpStatus: 200 },
    check: (res) => assert.match(res.reason, /系统繁忙/),
  },
  // no complete answer
  { name: 'connection dropped without an answer → transient', fault: 'drop', expect: { kind: 'transient', code: 'NETWORK' } },
  {
    name: 'answer later than the request timeout → transient',
    fault: 'slow', sandbox: { faults: { rates: { slow: 1 }, slowMs: 2000 } }, client: { requestTimeoutMs: 300 },
    expect: { kind: 'transient', code: 'TIMEOUT' },
  },
  {
    name: 'answer trickled a byte at a time past the request timeout → transient',
    fault: 'trickle', sandbox: { faults: { rates: { trickle: 1 }, trickleMs: 20 } }, client: { requestTimeoutMs: 400 },
    expect: { kind: 'transient', code: 'TIMEOUT' },
  },
  {
    name: 'answer over 4 MiB (8 MiB, signed JSON) → transient',
    fault: 'oversized', expect: { kind: 'transient', code: 'TOO_LARGE', httpStatus: 200 },
  },
];

for (const row of rows) {
  test(row.name, { timeout: 15_000 }, async () => {
    const faults = row.sandbox?.faults ?? (row.fault ? { rates: { [row.fault]: 1 } } : undefined);
    const sb = await startSandbox({ ...row.sandbox, ...(faults ? { faults } : {}) });
    const method = row.method ?? BORROW;
    const started = Date.now();
    let res: CallResult;
    try {
      res = await sb.client(row.client).call(method, (row.biz ?? entity)(), { policy: answersOf(method) });
    } finally {
      await sb.stop();
    }
    const got: Record<string, unknown> = { kind: res.kind, code: res.code };
    for (const k of ['subCode', 'httpStatus', 'slowDown', 'verified'] as const) if (k in row.expect) got[k] = res[k];
    assert.deepEqual(got, row.expect, res.reason);
    assert.ok(Date.now() - started < 5000, 'bounded in time');
    row.check?.(res);
  });
}

test('40001 isv.missing-timestamp (a request without timestamp) → run', { timeout: 15_000 }, async () => {
  const sb = await startSandbox();
  const c = sb.client();
  const { url, body } = c.buildRequest(BORROW, entity());
  const u = new URL(url);
  u.searchParams.delete('timestamp');
  const res = await request(u, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const verifier = new AnswerVerifier(sb.keys.alipayPublicKey);
  const outcome = judgeBody(await res.body.text(), BORROW, answersOf(BORROW), (raw, sign) => verifier.verify(raw, sign));
  assert.deepEqual([outcome.kind, outcome.code, outcome.subCode], ['run-fatal', '40001', 'isv.missing-timestamp']);
});
