import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ledger } from '../state/ledger.js';
import { percentile, rateSteps, reportData, showKey } from '../pipeline/report/data.js';
import { TimingRecorder, latencyBucket } from '../pipeline/run/timing-recorder.js';
import { silentLogger } from '../pipeline/log.js';
import { lastJson, runCli } from './helpers/cli.js';
import { startSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { entities, toCsv } from './helpers/borrow.js';
import { findChromium } from './helpers/browser.js';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

test('percentiles from the histogram are within its 10% buckets; steps fill gaps and stay few for long runs', () => {
  const samples = Array.from({ length: 1000 }, (_, i) => 5 + i * 0.2); // 5 … 204.8 ms, uniform
  const hist = new Map<number, number>();
  for (const ms of samples) hist.set(latencyBucket(ms), (hist.get(latencyBucket(ms)) ?? 0) + 1);
  const buckets = [...hist].sort((a, b) => a[0] - b[0]).map(([bucket, count]) => ({ bucket, count }));
  for (const [p, exact] of [[0.5, 104.9], [0.95, 194.9], [0.99, 202.9]] as const) {
    const v = percentile(buckets, p)!;
    assert.ok(Math.abs(v - exact) / exact < 0.1, `p${p * 100}: ${v} vs ${exact}`);
  }
  assert.equal(percentile([], 0.5), null);
  const sec = (second: number, requests: number, rate: number | null, slowDowns = 0) => ({ second, requests, ok: requests, retried: 0, failed: 0, fatal: 0, slowDowns, rate, latencyMs: 10 * requests, inFlight: 1 });
  const short = rateSteps([sec(100, 5, 10), sec(103, 7, 5, 2)]);
  assert.equal(short.step, 1);
  assert.deepEqual(short.steps.map((s) => [s.t, s.rate, s.limit, s.slowDowns]), [[0, 5, 10, 0], [1, 0, 10, 0], [2, 0, 10, 0], [3, 7, 5, 2]]);
  // five hours, one second in ten recorded: at most 600 steps, requests per second kept as a rate
  const long = rateSteps(Array.from({ length: 1800 }, (_, i) => sec(i * 10, 50, 50)));
  assert.ok(long.steps.length <= 600, String(long.steps.length));
  assert.equal(long.step, 30);
  assert.ok(long.steps.every((s) => Math.abs(s.rate - 5) < 1e-9), 'one second of 50 in every ten: 5/s');
});

test('keys in a report are masked when they look personal; a run of an older version reports counts only', () => {
  assert.equal(showKey('umbrella/E000001'), 'umbrella/E000001');
  assert.equal(showKey('330110199001011237'), '3301**********1237');
  assert.equal(showKey('13112345678'), '131****5678');
  assert.match(showKey(`h:${'ab'.repeat(16)}`), /^h:abababab… \(keyed hash\)$/);
  const l = new Ledger(join(tempDir(), 'l.db'), { hashKey: randomBytes(32) });
  const old = l.startRun('borrow-entities', 'upload borrow-entities a.csv', ['a.csv'], false);
  l.finishRun(old, 'done', 0, { read: 3, rejected: 1, superseded: 0, skipped: 0, uploaded: 2, failed: 0, pending: 0 });
  const d = reportData(l, l.runInfo(old)!);
  assert.match(d.timingNote!, /older version/);
  assert.deepEqual(d.counts!.addsUp, true);
  // the recorder's aggregates, read back: requests, outcomes and slow-downs add up per second and in all
  const run = l.startRun('borrow-entities', 'upload', [], false, { qps: 10 });
  let now = Date.parse('2026-03-01T00:00:00Z');
  const rec = new TimingRecorder(l, run, silentLogger, () => now, 1e9);
  rec.sending({ rate: () => 10, inFlight: () => 0 });
  for (let i = 0; i < 30; i++) {
    rec.requestStarted();
    now += 100;
    rec.answered({ startedAt: now - 100, durationMs: 20 + i, kind: i % 10 === 9 ? 'transient' : 'success', code: i % 10 === 9 ? '40005' : '10000', slowDown: i % 10 === 9, key: `k${i}`, attempt: 1 });
    if (i === 5) rec.rowDone('failed', { key: '330110199001011237', attempt: 1, code: '40004', subCode: 'INVALID_PARAMETER', reason: 'bad' });
    if (i === 14) rec.flush();
  }
  rec.close();
  const t = reportData(l, l.runInfo(run)!);
  assert.deepEqual(t.requests, { total: 30, ok: 27, retried: 3, failed: 0, fatal: 0, slowDowns: 3 });
  assert.equal(t.steps.length, 4, 'three seconds of requests, the last answers in a fourth');
  assert.equal(t.steps.reduce((a, s) => a + s.slowDowns, 0), 3);
  assert.equal(t.latency.count, 30);
  assert.equal(t.latency.maxMs, 49);
  assert.deepEqual(t.slowest.map((k) => k.key).slice(0, 2), ['k29', 'k28']);
  assert.deepEqual(t.failed.map((k) => [k.key, k.subCode]), [['3301**********1237', 'INVALID_PARAMETER']]);
  assert.deepEqual(t.codes.map((c) => [c.code, c.count]), [['10000', 27], ['40005', 3]]);
  l.close();
});

test('report --html after a real run with 40005s and failures: one self-contained file whose charts render in Chromium', async (t) => {
  // A gateway quota below --qps (40005s, slow-downs) and a share of rows refused (failed keys).
  const sb = await startSandbox({ quota: 15, faults: { rates: { invalid_parameter: 0.1 } } });
  const dir = tempDir();
  const csv = writeFile(dir, 'points.csv', toCsv(entities(60)));
  const ledger = join(dir, 'l.db');
  const up = await runCli(['upload', 'borrow-entities', csv, ...sb.flags, '--ledger', ledger, '--qps', '40', '--json', '--backoff-ms', '50'], { timeoutMs: 90_000 });
  assert.equal(up.code, 1, up.stderr);
  const summary = lastJson(up.stdout);
  const html = join(dir, 'report.html');
  const r = await runCli(['report', '--ledger', ledger, '--html', html]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^wrote .*report\\.html: run ${summary.run_id} \\(borrow-entities, done\\), \\d+ requests, p95 \\d+ ms\\n$`));
  assert.equal(statSync(html).mode & 0o777, 0o600);
  assert.ok(!existsSync(ledger + '-wal'), 'read-only: nothing left beside the ledger');
  const text = readFileSync(html, 'utf8');
  assert.doesNotMatch(text, /<script|\ssrc=|\shref=|@import|url\(/i, 'nothing to fetch: no script, no src, no link, no CSS url()');
  assert.match(text, /Content-Security-Policy" content="default-src 'none'/);
  assert.equal((await runCli(['report', '--ledger', ledger])).code, 2, '--html is required');
  assert.equal((await runCli(['report', '--ledger', ledger, '--html', join(dir, 'x.html'), '--run', '99'])).code, 2, 'a run that does not exist');

  const browser = findChromium();
  if ('missing' in browser) assert.fail(`the report's charts cannot be checked in a real browser: ${browser.missing}`);
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(tempDir('alipay-sync-chromium-'), { executablePath: browser.path, headless: true, args: FLAGS, timeout: 60_000 });
  t.after(() => context.close());
  const page = await context.newPage();
  const requested: string[] = [];
  page.on('request', (req) => requested.push(req.url()));
  await page.goto(pathToFileURL(html).href, { timeout: 30_000 });
  assert.deepEqual(requested, [pathToFileURL(html).href], 'the page asked for nothing but itself');
  const size = async (selector: string) => {
    const boxes = await page.locator(selector).evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((b) => ({ w: b.width, h: b.height })));
    assert.ok(boxes.length > 0, `${selector}: none on the page`);
    return boxes;
  };
  for (const chart of ['svg.counts-chart', 'svg.rate-chart', 'svg.latency-chart', 'svg.codes-chart']) {
    for (const b of await size(chart)) assert.ok(b.w > 300 && b.h > 40, `${chart} is drawn: ${JSON.stringify(b)}`);
  }
  // the marks inside the charts have a size: bars of requests, the --qps level, 40005 marks, latency bars, the parts of read
  for (const mark of ['svg.rate-chart rect.rate-bar', 'svg.rate-chart path.limit-line', 'svg.rate-chart line.qps-line', 'svg.rate-chart path.slowdown', 'svg.latency-chart rect.latency-bar', 'svg.counts-chart rect.part-uploaded', 'svg.counts-chart rect.part-failed', 'svg.codes-chart rect.bar']) {
    const boxes = await size(mark);
    // (a horizontal line has no height: its length is its size)
    assert.ok(boxes.some((b) => b.w > 0 && (b.h > 0 || mark.includes(' line.'))), `${mark} has a size: ${JSON.stringify(boxes.slice(0, 3))}`);
  }
  const shown = await page.locator('body').innerText();
  const s = summary as Record<string, number>;
  assert.match(shown, new RegExp(`read ${s.read} = rejected ${s.rejected} \\+ superseded ${s.superseded} \\+ unchanged ${s.unchanged} \\+ uploaded ${s.uploaded} \\+ failed ${s.failed} \\+ pending ${s.pending} ✓ adds up`));
  assert.match(shown, /--qps 40/);
  assert.match(shown, /\d+\s+40005 \/ 429 answers/);
  assert.match(shown, /\d+(\.\d)? ms\s+p50[\s\S]*p95[\s\S]*p99/);
  assert.match(shown, /40005\s+isv\.app-call-limited\s+transient/);
  assert.match(shown, /Failed rows[\s\S]*umbrella\/E0000\d\d|Failed rows[\s\S]*power_bank\/E0000\d\d/);
  assert.match(shown, /isv\.invalid-parameter/);
  // the axes carry numbers
  const ticks = await page.locator('svg.rate-chart text.tick').allTextContents();
  assert.ok(ticks.some((x) => /^\d+(\.\d+)?\/s$/.test(x) && x !== '0/s') && ticks.some((x) => /^\d+:\d\d$/.test(x)), ticks.join(' '));
});
