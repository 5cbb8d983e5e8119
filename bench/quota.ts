/**
 * The quota measures of `npm run bench` (issue 13): a sandbox (in its own process) with a per-second quota the
 * client is not told and --qps far above it, the same ledger's next run, and fair turns between merchants. Every
 * figure is read from the sandbox's own request log (what the gateway saw), on real time.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyFiles } from '../pipeline/sandbox/keys.js';
import { merchantUserId } from '../pipeline/sandbox/merchants.js';
import { writeEntities } from './data.js';
import { CLI, OUT, f, log, spawnNode, startSandbox, type LoggedRequest } from './harness.js';

type Row = [what: string, ours: string, base: string, ratio: number, target: string, met: boolean | null, bound: string];

const APP = '2021000000000001';
const QUOTA = Number(process.env.BENCH_QUOTA ?? 50);
const WARM_S = 10;
const MEASURE_S = 60;
const CEILING = 1000;
const MERCHANT_QUOTA = 20;
const SMALL_ROWS = 200;
const TOKENS = { big: '202501BBbenchMerchantBig000000000000001', b: '202501BBbenchMerchantSmallB0000000000002', c: '202501BBbenchMerchantSmallC0000000000003' };

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freshLedger(name: string): string {
  const path = join(OUT, name);
  for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
  return path;
}

/** Run the CLI until `until(requests so far)` holds (checked every 500 ms) or it ends; then Ctrl-C it. */
async function runUntil(sb: Awaited<ReturnType<typeof startSandbox>>, args: string[], until: (log: LoggedRequest[]) => boolean, capMs: number) {
  const { child, done } = spawnNode(CLI, args);
  let ended = false;
  void done.then(() => (ended = true));
  const started = Date.now();
  while (!ended && Date.now() - started < capMs && !until(await sb.requests())) await wait(500);
  if (!ended) child.kill('SIGINT');
  const ran = await done;
  if (ran.code !== 0 && ran.code !== 130) throw new Error(`run failed (${ran.code}): ${ran.stderr.slice(-500)}`);
  return sb.requests();
}

function since(log: LoggedRequest[], fromMs: number, toMs: number) {
  const t0 = log[0]?.at ?? 0;
  const w = log.filter((r) => r.at >= t0 + fromMs && r.at < t0 + toMs);
  return { admitted: w.filter((r) => r.code === '10000').length, limited: w.filter((r) => r.code === '40005').length, all: w.length };
}

/** Seconds from the first request until every one of `merchants` had its last row admitted. */
function doneAfter(log: LoggedRequest[], merchants: string[]): number {
  const t0 = log[0]!.at;
  let last = t0;
  for (const r of log) if (r.code === '10000' && merchants.includes(r.merchant ?? '')) last = r.at;
  return (last - t0) / 1000;
}

export async function quotaBench(keys: KeyFiles): Promise<Row[]> {
  const rows: Row[] = [];
  const cli = ['--app-id', APP, '--private-key', keys.appPrivateKey, '--alipay-public-key', keys.alipayPublicKey, '--no-progress'];

  // 8 and 9: one app's per-second quota, not told, --qps 20 times above it; then the same ledger's next run.
  const quotaFirst = join(OUT, 'quota-first.csv');
  const quotaNext = join(OUT, 'quota-next.csv');
  await writeEntities(quotaFirst, QUOTA * (WARM_S + MEASURE_S + 20), { seed: 4, repeatShare: 0, keyOffset: 30_000_000 });
  await writeEntities(quotaNext, QUOTA * 30, { seed: 5, repeatShare: 0, keyOffset: 40_000_000 });
  const sb = await startSandbox(keys, ['--quota', String(QUOTA)]);
  try {
    const ledger = freshLedger('quota.db');
    const args = (file: string) => ['upload', 'borrow-entities', file, '--gateway', sb.url, ...cli, '--ledger', ledger, '--qps', String(CEILING)];
    log(`a per-second quota of ${QUOTA} the client is not told, --qps ${CEILING}: ${WARM_S} s warm-up, then ${MEASURE_S} s measured`);
    const first = await runUntil(sb, args(quotaFirst), (l) => l.length > 0 && Date.now() - l[0]!.at > (WARM_S + MEASURE_S) * 1000 + 500, 200_000);
    const m = since(first, WARM_S * 1000, (WARM_S + MEASURE_S) * 1000);
    const ratio = m.admitted / MEASURE_S / QUOTA;
    const share = m.limited / Math.max(1, m.all);
    rows.push([
      `8. a per-second quota of ${QUOTA} the client is not told, --qps ${f(CEILING)}: admitted/s over ${MEASURE_S} s after a ${WARM_S} s warm-up`,
      `${f(m.admitted / MEASURE_S, 2)} (${f(share * 100, 2)}% of ${f(m.all)} requests answered 40005)`, `${QUOTA} (the quota)`, ratio,
      '≥ 0.95 of the quota, ≤ 2% 40005', ratio >= 0.95 && share <= 0.02,
      'the controller sets the rate to what the quota admitted in the second before a 40005, then probes 1%, 2%, 4%… up every 5 s',
    ]);
    await sb.reset();
    await wait(1500); // the quota's window empties
    log('the same ledger\'s next run: its first 10 s');
    const next = await runUntil(sb, args(quotaNext), (l) => l.length > 0 && Date.now() - l[0]!.at > 10_500, 60_000);
    const n = since(next, 0, 10_000);
    const nextRatio = n.admitted / 10 / QUOTA;
    rows.push([
      '9. the same ledger\'s next run, its first 10 s: admitted/s', `${f(n.admitted / 10, 2)} (${n.limited} answered 40005)`, `${QUOTA} (the quota)`, nextRatio,
      '≥ 0.95 from the start', nextRatio >= 0.95, 'it starts at the rate the first run learned (kept in the ledger), not at --qps',
    ]);
  } finally {
    sb.stop();
  }

  // 10: three merchants, one with 100 times the rows of the others, each with its own per-second quota.
  const big = join(OUT, 'merchant-big.csv');
  const smallB = join(OUT, 'merchant-b.csv');
  const smallC = join(OUT, 'merchant-c.csv');
  await writeEntities(big, SMALL_ROWS * 100, { seed: 6, repeatShare: 0, keyOffset: 50_000_000, token: TOKENS.big });
  await writeEntities(smallB, SMALL_ROWS, { seed: 7, repeatShare: 0, keyOffset: 60_000_000, token: TOKENS.b });
  await writeEntities(smallC, SMALL_ROWS, { seed: 8, repeatShare: 0, keyOffset: 70_000_000, token: TOKENS.c });
  const small = [merchantUserId(TOKENS.b), merchantUserId(TOKENS.c)];
  const allSmallDone = (l: LoggedRequest[]) => l.filter((r) => r.code === '10000' && small.includes(r.merchant ?? '')).length >= 2 * SMALL_ROWS;
  const tokenFlags = Object.values(TOKENS).flatMap((t) => ['--merchant-token', t]);
  for (const shared of [false, true]) {
    // shared: no quota per merchant, the three share --qps 30; otherwise each has its own quota of 20/s
    const gateway = await startSandbox(keys, [...tokenFlags, ...(shared ? [] : ['--merchant-quota', String(MERCHANT_QUOTA)])]);
    try {
      const qps = shared ? '30' : String(CEILING);
      const run = (files: string[]) => runUntil(gateway, ['upload', 'borrow-entities', ...files, '--gateway', gateway.url, ...cli, '--ledger', freshLedger('merchants.db'), '--qps', qps], allSmallDone, 120_000);
      log(`fair turns${shared ? ' under a shared --qps 30' : `, a quota of ${MERCHANT_QUOTA}/s per merchant`}: the two small merchants alone, then after the big one in the file`);
      const alone = doneAfter(await run([smallB, smallC]), small);
      await gateway.reset();
      await wait(1500);
      const mixed = doneAfter(await run([big, smallB, smallC]), small);
      const ratio = mixed / alone;
      rows.push(shared
        ? [`10. the same, the three sharing --qps 30 (no quota per merchant)`, `${f(mixed, 1)} s`, `${f(alone, 1)} s (alone: two merchants share the 30/s)`, ratio,
          '≤ 1.6 (a fair share: a third of 30/s instead of half)', ratio <= 1.6, 'round-robin turns under the global ceiling']
        : [`10. three merchants, one with 100× the rows (${f(SMALL_ROWS * 100)} before the others' ${SMALL_ROWS} each in the files), a quota of ${MERCHANT_QUOTA}/s each: seconds until the small ones are done`,
          `${f(mixed, 1)} s`, `${f(alone, 1)} s (the two small ones alone)`, ratio, '≤ 1.2 (in file order they would wait ~1,000 s)', ratio <= 1.2,
          'fair turns: each merchant\'s rows are interleaved, each under its own rate']);
    } finally {
      gateway.stop();
    }
  }
  return rows;
}
