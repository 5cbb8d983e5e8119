import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { lastJson, runCli, spawnCli } from './helpers/cli.js';
import { startSandbox, testKeys } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { waitUntil } from './helpers/wait.js';
import { entities, toCsv } from './helpers/borrow.js';

/** One scrape: the content type, and every sample as `name{labels}` → value. */
async function scrape(url: string): Promise<{ type: string; samples: Map<string, number>; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  const text = await res.text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { type: res.headers.get('content-type') ?? '', samples, text };
}

const sample = (m: Map<string, number>, prefix: string) => [...m].filter(([k]) => k.startsWith(prefix));

test('--metrics-port: Prometheus text on loopback while a real run sends (rows, requests by code, rate, in flight, latency)', async () => {
  // 50 rows at --qps 25: two seconds of sending to scrape in the middle of.
  const sb = await startSandbox();
  const dir = tempDir();
  const csv = writeFile(dir, 'points.csv', toCsv(entities(50)));
  const { child, done } = spawnCli(['upload', 'borrow-entities', csv, ...sb.flags, '--ledger', join(dir, 'l.db'), '--qps', '25', '--metrics-port', '0', '--json'], { timeoutMs: 90_000 });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitUntil(() => /metrics: http:\/\/127\.0\.0\.1:\d+\/metrics/.test(stderr), { ms: 30_000, what: 'the metrics address', child });
  const url = /metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stderr)![1]!;
  // scrape while it sends, until some rows are uploaded and some remain
  let during: Awaited<ReturnType<typeof scrape>> | null = null;
  const deadline = Date.now() + 60_000;
  for (;;) {
    assert.ok(Date.now() < deadline, 'timed out waiting for a scrape in the middle of sending');
    const s = await scrape(url);
    const uploaded = s.samples.get('alipay_sync_rows_total{dataset="borrow-entities",outcome="uploaded"}') ?? 0;
    if (uploaded > 0 && uploaded < 50) {
      during = s;
      break;
    }
    assert.ok(child.exitCode === null, `the run ended before a scrape caught it sending: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(during.type, /^text\/plain; version=0\.0\.4/);
  const m = during.samples;
  assert.equal(m.get('alipay_sync_rows_total{dataset="borrow-entities",outcome="read"}'), 50);
  assert.ok((m.get('alipay_sync_requests_total{dataset="borrow-entities",kind="success",code="10000",sub_code=""}') ?? 0) > 0);
  const rate = m.get('alipay_sync_rate_limit{dataset="borrow-entities"}')!;
  assert.ok(rate > 0 && rate <= 25, `the limiter's rate: ${rate}`);
  assert.ok((m.get('alipay_sync_send_rate{dataset="borrow-entities"}') ?? 0) > 0);
  const inFlight = m.get('alipay_sync_in_flight{dataset="borrow-entities"}');
  assert.ok(inFlight !== undefined && inFlight >= 0 && inFlight <= 8);
  assert.ok(sample(m, 'alipay_sync_request_duration_seconds_bucket{').length >= 12, 'a latency histogram');
  assert.ok((m.get('alipay_sync_request_duration_seconds_count{dataset="borrow-entities"}') ?? 0) > 0);
  assert.ok(m.has('alipay_sync_process_resident_memory_bytes'), 'the process metrics too');
  const r = await done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lastJson(r.stdout).uploaded, 50);
  // the run is over: so is the endpoint
  await assert.rejects(fetch(url, { signal: AbortSignal.timeout(5000) }));
});

test('--metrics-port: a bad or busy port stops before anything is sent; notify serve counts notifications by result', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const csv = writeFile(dir, 'points.csv', toCsv(entities(3)));
  const base = ['upload', 'borrow-entities', csv, ...sb.flags, '--ledger', join(dir, 'l.db')];
  const bad = await runCli([...base, '--metrics-port', 'abc']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--metrics-port/);
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as { port: number }).port;
  try {
    const r = await runCli([...base, '--metrics-port', String(port)]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--metrics-port: cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
    assert.equal(sb.gateway.requests.length, 0);
  } finally {
    busy.close();
  }
  // notify serve: a notification that does not verify is refused, and counted so
  assert.equal((await runCli([...base])).code, 0);
  const { files } = testKeys();
  const { child, done } = spawnCli(['notify', 'serve', '--port', '0', '--alipay-public-key', files.alipayPublicKey, '--ledger', join(dir, 'l.db'), '--metrics-port', '0'], { timeoutMs: 30_000 });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitUntil(() => /listening on (http:\S+)/.test(out) && /metrics: http/.test(out), { ms: 20_000, what: 'the receiver and its metrics', child });
  const receiver = /listening on (http:\S+)/.exec(out)![1]!;
  const metrics = /metrics: (http:\S+)/.exec(out)![1]!;
  const res = await fetch(receiver, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'notify_id=1&sign=bad', signal: AbortSignal.timeout(5000) });
  assert.equal(await res.text(), 'fail');
  const m = (await scrape(metrics)).samples;
  assert.equal(m.get('alipay_sync_notifications_total{result="refused"}'), 1);
  assert.equal(m.get('alipay_sync_notifications_total{result="applied"}'), 0);
  child.kill('SIGTERM');
  assert.equal((await done).code, 0);
});

test('alipay_sync_send_rate before 10 s of sending: the requests over the time sending has taken (at least 1 s), not over the whole window', async () => {
  const { Registry } = await import('prom-client');
  const { runMetrics } = await import('../pipeline/metrics.js');
  const registry = new Registry();
  const m = runMetrics(registry, 'borrow-entities');
  m.sending!({ rate: () => 100, inFlight: () => 0 }, 1000);
  for (let i = 0; i < 40; i++) m.requestStarted!();
  const rate = (await registry.getSingleMetric('alipay_sync_send_rate')!.get()).values[0]!.value;
  // 40 requests in well under a second of sending: 40/s over the 1 s minimum, not 4/s over 10 s
  assert.ok(rate > 10 && rate <= 40, `send rate ${rate}`);
});
