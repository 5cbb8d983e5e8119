/**
 * Answers at the HTTP level (see alipay-answers.test.ts for business codes): escaped slashes, charsets, HTTP
 * statuses, HTML pages, trickling and oversized answers, aborts, RSA (SHA1) apps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import iconv from 'iconv-lite';
import { BORROW, WORKER } from './helpers/answers.js';
import { bodyExcerpt } from '../pipeline/alipay/excerpt.js';
import { callWith, client, clients, gateway, signedBody } from './helpers/answer-gateway.js';

test('an answer signed before "/" was escaped as "\\/" verifies on the second try (URL, 5元/小时)', async () => {
  const sent = '{"code":"10000","msg":"Success","biz_success":true,"url":"https:\\/\\/example.com\\/a","rent":"5元\\/小时"}';
  const signed = sent.replaceAll('\\/', '/');
  const res = await callWith(WORKER, signedBody(WORKER, sent, { signedText: signed }));
  assert.equal(res.kind, 'success', res.reason);
  // the second try is no loophole: a changed answer still fails
  const tampered = await callWith(WORKER, signedBody(WORKER, sent.replace('5元', '9元'), { signedText: signed }));
  assert.deepEqual([tampered.kind, tampered.code], ['run-fatal', 'UNVERIFIED']);
});

// ---- 5. charsets

test('a GBK answer (20000 系统繁忙) is verified over its declared charset and stays transient', async () => {
  const node = '{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}';
  for (const signedAs of ['utf-8', 'gbk']) {
    const body = iconv.encode(signedBody(BORROW, node, { encoding: signedAs }), 'gbk');
    const res = await callWith(BORROW, body, { contentType: 'text/html;charset=GBK' });
    assert.deepEqual([res.kind, res.code, res.verified, res.subMsg], ['transient', '20000', true, '系统繁忙'], `signed over ${signedAs} bytes: ${res.reason}`);
  }
});

// ---- 6. HTTP statuses and non-JSON bodies

test('HTTP 408 and 429 are transient (429 slows down); 413 fails the row; 400 fails the row', async () => {
  const t408 = await callWith(BORROW, 'Request Timeout', { status: 408, contentType: 'text/plain' });
  assert.deepEqual([t408.kind, t408.code], ['transient', 'HTTP_408']);
  const t429 = await callWith(BORROW, 'Too Many Requests', { status: 429, contentType: 'text/plain' });
  assert.deepEqual([t429.kind, t429.slowDown], ['transient', true]);
  const t413 = await callWith(BORROW, '<html>413 Request Entity Too Large</html>', { status: 413, contentType: 'text/html' });
  assert.deepEqual([t413.kind, t413.code], ['row-fatal', 'HTTP_413']);
  const t400 = await callWith(BORROW, '<html>400 Bad Request</html>', { status: 400, contentType: 'text/html' });
  assert.deepEqual([t400.kind, t400.code], ['row-fatal', 'HTTP_400']);
});

test('HTTP 401/403/407 stop the run, naming the status and a masked excerpt of the body', async () => {
  const page = '<html><body><h1>403 Forbidden</h1> request from 13112345678 for id 330110199001011234 (user alice@example.com) denied by policy' + ' x'.repeat(200) + '</body></html>';
  for (const status of [401, 403, 407]) {
    const res = await callWith(BORROW, page, { status, contentType: 'text/html' });
    assert.deepEqual([res.kind, res.code, res.httpStatus], ['run-fatal', `HTTP_${status}`, status]);
    assert.match(res.reason, new RegExp(`HTTP ${status}`));
    assert.match(res.reason, /403 Forbidden/);
    assert.doesNotMatch(res.reason, /13112345678|330110199001011234|alice@/);
    assert.match(res.reason, /131\*\*\*\*5678/);
    const excerpt = /"(.*)"/.exec(res.reason)![1]!;
    assert.ok(excerpt.length <= 121, `excerpt of ${excerpt.length} characters`);
  }
  const other = await callWith(BORROW, 'Not Found', { status: 404, contentType: 'text/plain' });
  assert.deepEqual([other.kind, other.code], ['run-fatal', 'HTTP_404']);
  assert.match(other.reason, /--gateway/);
});

test('a non-JSON 200 (an HTML error page) is transient, with the same masked excerpt', async () => {
  const res = await callWith(BORROW, '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>phone 13912345678</body></html>', { contentType: 'text/html' });
  assert.deepEqual([res.kind, res.code], ['transient', 'NON_JSON']);
  assert.match(res.reason, /502 Bad Gateway/);
  assert.match(res.reason, /139\*\*\*\*5678/);
  assert.equal(bodyExcerpt('a\n\n  b'), 'a b');
});

// ---- 7. a whole-request deadline and a cap on answer size

test('a gateway that trickles its answer is cut at the request timeout (transient TIMEOUT)', { timeout: 10_000 }, async () => {
  const timers = new Set<NodeJS.Timeout>();
  const gw = await gateway((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const t = setInterval(() => res.write(' '), 20);
    timers.add(t);
    res.on('close', () => clearInterval(t));
  });
  try {
    const started = Date.now();
    const res = await client(gw.url, { requestTimeoutMs: 400 }).call(BORROW, '{}');
    const took = Date.now() - started;
    assert.deepEqual([res.kind, res.code], ['transient', 'TIMEOUT']);
    assert.ok(took < 2000, `took ${took} ms`);
  } finally {
    for (const t of timers) clearInterval(t);
    await gw.stop();
  }
});

test('the caller\'s signal still aborts a request in flight', { timeout: 10_000 }, async () => {
  const gw = await gateway(() => {
    /* never answers */
  });
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const res = await client(gw.url, { requestTimeoutMs: 30_000 }).call(BORROW, '{}', { signal: ac.signal });
    assert.equal(res.kind, 'transient');
    assert.equal(res.code, 'NETWORK');
  } finally {
    await gw.stop();
  }
});

test('an oversized answer is cut as soon as it passes 4 MiB (transient TOO_LARGE), streamed or declared', { timeout: 20_000 }, async () => {
  let written = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const streamed = await gateway((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"a":"');
    const pump = () => {
      while (written < 200 * 1024 * 1024) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end('"}');
    };
    res.on('error', () => {});
    pump();
  });
  try {
    const res = await client(streamed.url).call(BORROW, '{}');
    assert.deepEqual([res.kind, res.code], ['transient', 'TOO_LARGE']);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(written < 32 * 1024 * 1024, `the server got to write ${written} bytes`);
  } finally {
    await streamed.stop();
  }
  const declared = await gateway((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(200 * 1024 * 1024) });
    res.on('error', () => {});
    res.write('{');
  });
  try {
    const res = await client(declared.url).call(BORROW, '{}');
    assert.deepEqual([res.kind, res.code], ['transient', 'TOO_LARGE']);
  } finally {
    await declared.stop();
  }
  // a just-under-the-cap answer is read (and here judged: not signed, so not a success)
  const small = await callWith(BORROW, signedBody(BORROW, '{"code":"10000","msg":"Success"}'), { client: { maxAnswerBytes: 4096 } });
  assert.equal(small.kind, 'success');
});

// ---- 8. the app's sign type

test('an app signing with RSA verifies answers signed SHA1withRSA (and not RSA2 ones)', async () => {
  const node = '{"code":"10000","msg":"Success"}';
  const rsa = await callWith(BORROW, signedBody(BORROW, node, { signType: 'RSA' }), { client: { signType: 'RSA' } });
  assert.equal(rsa.kind, 'success', rsa.reason);
  const mixed = await callWith(BORROW, signedBody(BORROW, node, { signType: 'RSA2' }), { client: { signType: 'RSA' } });
  assert.deepEqual([mixed.kind, mixed.code], ['run-fatal', 'UNVERIFIED']);
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const forged = await callWith(BORROW, signedBody(BORROW, node, { signType: 'RSA', key: other }), { client: { signType: 'RSA' } });
  assert.equal(forged.code, 'UNVERIFIED');
});

test.after(async () => {
  await Promise.all(clients.map((c) => c.close()));
});
