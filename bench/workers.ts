/**
 * `npm run bench`, sections 11 and 12: many workers on one PostgreSQL ledger (a real server started for the
 * benchmark, as the tests start theirs), each worker the CLI as a user runs it, against the sandbox on loopback.
 *
 * 11. 1, 2 and 4 workers uploading one file to a sandbox without a quota: their combined requests/s and CPU per
 *    request, as ratios to one worker on SQLite (the same file, the same sandbox, measured in the same run).
 * 12. 3 workers under a sandbox quota (and --qps at it): the rate they reach together / the quota, and the most
 *    requests in any one-second window.
 *
 * Run alone: `BENCH_ONLY=workers npm run bench`, or `node dist/bench/workers.js` after the build.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateKeyPairs, readKeyFiles, writeKeyFiles } from '../pipeline/sandbox/keys.js';
import { startPostgres } from '../test/helpers/pg-server.js';
import { writeEntities } from './data.js';
import { CLI, OUT, arrivalRate, f, lastJson, log, maxInWindow, runNode, startSandbox, type Ran } from './harness.js';

export type Row = [what: string, ours: string, base: string, ratio: number, target: string, met: boolean | null, bound: string];

export async function benchWorkers(o: { sendRows: number; quota: number; quotaSeconds: number }): Promise<Row[]> {
  const rows: Row[] = [];
  const keys = readKeyFiles(join(OUT, 'keys'))?.files ?? writeKeyFiles(join(OUT, 'keys'), generateKeyPairs());
  const file = join(OUT, `workers-${o.sendRows}.csv`);
  await writeEntities(file, o.sendRows, { seed: 4, repeatShare: 0, keyOffset: 30_000_000 });
  const quotaFile = join(OUT, `workers-quota-${o.quota * o.quotaSeconds}.csv`);
  await writeEntities(quotaFile, o.quota * o.quotaSeconds, { seed: 5, repeatShare: 0, keyOffset: 40_000_000 });
  const flags = (url: string) => ['--gateway', url, '--app-id', '2021000000000001', '--private-key', keys.appPrivateKey, '--alipay-public-key', keys.alipayPublicKey, '--json', '--no-progress'];
  const pg = await startPostgres();
  log(`PostgreSQL for the workers: ${pg.source}`);
  const sandbox = await startSandbox(keys);
  try {
    const upload = (args: string[]): Promise<Ran> => runNode(CLI, ['upload', 'borrow-entities', ...args]).then((r) => {
      if (r.code !== 0) throw new Error(`a worker failed (${r.code}): ${r.stderr.slice(-500)}`);
      return r;
    });
    log(`1 worker on SQLite: ${f(o.sendRows)} rows, qps none, concurrency 16`);
    rmSync(join(OUT, 'workers.db'), { force: true });
    await sandbox.reset();
    const lite = await upload([file, ...flags(sandbox.url), '--ledger', join(OUT, 'workers.db'), '--qps', '0', '--concurrency', '16']);
    const liteRate = arrivalRate((await sandbox.requests()).map((q) => q.at));
    const liteCpu = lite.usage.cpuMs / o.sendRows;
    for (const n of [1, 2, 4]) {
      log(`${n} worker(s) on PostgreSQL: the same file, qps none, concurrency 16 each`);
      await sandbox.reset();
      const schema = `bench_${n}_${Date.now()}`;
      const ran = await Promise.all(Array.from({ length: n }, () => upload([file, ...flags(sandbox.url), '--ledger', pg.url, '--schema', schema, '--qps', '0', '--concurrency', '16'])));
      const got = await sandbox.requests();
      const rate = arrivalRate(got.map((q) => q.at));
      const cpu = ran.reduce((t, r) => t + r.usage.cpuMs, 0) / o.sendRows;
      const uploaded = ran.reduce((t, r) => t + (lastJson(r.stdout).uploaded ?? 0), 0);
      rows.push([
        `11. ${n} worker${n > 1 ? 's' : ''} on one PostgreSQL ledger, no quota: requests/s (CPU ms per request)`,
        `${f(rate)} (${f(cpu, 3)} ms; ${f(got.length)} requests for ${f(uploaded)} rows)`, `${f(liteRate)} (1 on SQLite; ${f(liteCpu, 3)} ms)`,
        rate / liteRate, 'informative; CPU ratio ' + (cpu / liteCpu).toFixed(2), null,
        'two cores for the workers, the sandbox and PostgreSQL: more workers add processes, not cores; each worker also stages the file',
      ]);
    }
    sandbox.stop();
    log(`3 workers under a quota of ${o.quota}/s (--qps ${o.quota}) for about ${o.quotaSeconds} s`);
    const limited = await startSandbox(keys, ['--quota', String(o.quota)]);
    try {
      const schema = `bench_quota_${Date.now()}`;
      await Promise.all([0, 1, 2].map(() => upload([quotaFile, ...flags(limited.url), '--ledger', pg.url, '--schema', schema, '--qps', String(o.quota), '--concurrency', '4'])));
      const got = await limited.requests();
      const at = got.map((q) => q.at);
      const achieved = arrivalRate(at);
      const most = maxInWindow(at, 1000);
      const refused = got.filter((q) => q.code === '40005').length;
      rows.push([
        `12. 3 workers on one PostgreSQL ledger under a quota of ${o.quota}/s (--qps ${o.quota}): achieved req/s`,
        `${f(achieved, 2)} (most in any 1 s: ${most}; ${refused} answered 40005)`, String(o.quota), achieved / o.quota, `≥ 0.9; ≤ ${o.quota} in any second`,
        achieved / o.quota >= 0.9 && most <= o.quota, 'the shared slots: 1/rate apart plus 5% spare for several processes\' jitter',
      ]);
    } finally {
      limited.stop();
    }
  } finally {
    sandbox.stop();
    await pg.stop();
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchWorkers({ sendRows: Number(process.env.BENCH_SEND_ROWS ?? 20_000), quota: 20, quotaSeconds: 15 });
  const head = ['measure', 'alipay-sync', 'baseline (same run)', 'ratio', 'target', 'met', 'what bounds it'];
  const cells = (r: Row) => [r[0], r[1], r[2], Number.isFinite(r[3]) ? r[3].toFixed(2) : 'n/a', r[4], r[5] === null ? '' : r[5] ? 'yes' : '**no**', r[6]];
  process.stdout.write([head, head.map(() => '---'), ...rows.map(cells)].map((r) => `| ${r.join(' | ')} |`).join('\n') + '\n');
}
