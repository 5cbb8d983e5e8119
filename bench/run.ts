/**
 * `npm run bench`: migration-scale throughput, CPU per request, memory and rate accuracy, each next to its
 * floor or rival measured in the same run on the same data, all on loopback. Prints a Markdown table of
 * ratios (absolute numbers beside them) and writes it to bench/out/results.md.
 *
 * Every measured program runs as its own process (the CLI as a user runs it; the sandbox gateway; the bare
 * csv-parse read; the official-SDK script), with a preloaded hook recording its CPU time and peak RSS.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { borrowEntities } from '../sources/borrow-entities.js';
import { readCsv } from '../sources/csv.js';
import { Ledger, type StageRow } from '../state/ledger.js';
import { loadPrivateKey } from '../pipeline/alipay/keys.js';
import { generateKeyPairs, readKeyFiles, writeKeyFiles, type KeyFiles } from '../pipeline/sandbox/keys.js';
import { beijingTimestamp, signString } from '../pipeline/alipay/sign.js';
import { writeEntities } from './data.js';
import { CLI, DIST, OUT, arrivalRate, f, lastJson, log, maxInWindow, runNode, startSandbox, type Ran } from './harness.js';
import { quotaBench } from './quota.js';

const BIG = Number(process.env.BENCH_ROWS ?? 1_000_000);
const SMALL = Math.round(BIG / 10);
const SEND = Number(process.env.BENCH_SEND_ROWS ?? 20_000);
const REPS = Math.max(1, Number(process.env.BENCH_REPS ?? 2));
const QPS = 50;
const QPS_SECONDS = 20;

/** Build a ledger in which every row of `file` is recorded as uploaded, through the same staging code. */
async function uploadedLedger(file: string, path: string, privateKeyFile: string): Promise<void> {
  // The same hash key as the CLI run that follows (the app private key), so its content hashes compare.
  const ledger = new Ledger(path, { hashKey: loadPrivateKey(privateKeyFile).export({ type: 'pkcs8', format: 'der' }) });
  const run = ledger.startRun(borrowEntities.name, 'bench setup', [file], false);
  let batch: StageRow[] = [];
  for await (const rec of readCsv(file)) {
    if ('error' in rec) continue;
    const v = borrowEntities.validate(rec.cells);
    if (!v.ok) continue;
    batch.push({ key: v.row.key, snapshot: v.row.snapshot, bizContent: v.row.bizContent, file, line: rec.line });
    if (batch.length >= 5000) {
      ledger.stage(run, borrowEntities.name, batch);
      batch = [];
    }
  }
  ledger.stage(run, borrowEntities.name, batch);
  ledger.finishRun(run, 'done', 0, {});
  ledger.close();
  const db = new Database(path);
  db.exec("UPDATE records SET status = 'uploaded', uploaded_snapshot = snapshot, uploaded_hash = hash, biz_content = NULL");
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

type Add = (what: string, ours: string, base: string, ratio: number, target: string, met: boolean | null, bound: string) => void;

/** Measures 1-6: staging, rerun, CPU per request, the official SDK, memory, rate accuracy. */
async function throughput(keys: KeyFiles, add: Add) {
  const big = join(OUT, `entities-${BIG}.csv`);
  const small = join(OUT, `entities-${SMALL}.csv`);
  const send = join(OUT, `send-${SEND}.csv`);
  const rate = join(OUT, `rate-${QPS * QPS_SECONDS}.csv`);
  if (!existsSync(big)) {
    log(`generating ${f(BIG)} rows (seeded; kept in bench/out for the next run)`);
    await writeEntities(big, BIG, { seed: 1 });
  }
  if (!existsSync(small)) await writeEntities(small, SMALL, { seed: 1 });
  if (!existsSync(send)) await writeEntities(send, SEND, { seed: 2, repeatShare: 0, keyOffset: 10_000_000 });
  if (!existsSync(rate)) await writeEntities(rate, QPS * QPS_SECONDS, { seed: 3, repeatShare: 0, keyOffset: 20_000_000 });
  const cliKeys = ['--private-key', keys.appPrivateKey, '--alipay-public-key', keys.alipayPublicKey];
  // A dry run checks every setting the real run would: it needs the app id and keys too.
  const dryKeys = ['--app-id', '2021000000000001', ...cliKeys];
  // 1. staging vs a bare read. This machine's speed wanders (the same read can take twice as long a minute
  // later), so the two are measured in alternation, REPS times, and each keeps its best.
  // Each ratio comes from a pair measured back to back (bare read, then ours), REPS pairs, keeping the best
  // pair: this machine's speed drifts by a third within minutes, so numbers from different minutes do not mix.
  let bareMs = Infinity;
  let stageMs = Infinity;
  let stageMem = 0;
  let stageRatio = 0;
  for (let rep = 1; rep <= REPS; rep++) {
    log(`bare csv-parse read of the ${f(BIG)}-row file (${rep}/${REPS})`);
    const b = lastJson((await runNode(join(DIST, 'bench', 'bare-read.js'), [big])).stdout).ms!;
    log(`staging the ${f(BIG)}-row file with --dry-run (${rep}/${REPS})`);
    for (const s of ['', '-wal', '-shm']) rmSync(join(OUT, 'stage.db') + s, { force: true });
    const r = await runNode(CLI, ['upload', 'borrow-entities', big, '--dry-run', ...dryKeys, '--ledger', join(OUT, 'stage.db'), '--json', '--no-progress']);
    if (r.code !== 0) throw new Error(`staging failed (${r.code}): ${r.stderr.slice(-500)}`);
    stageMem = Math.max(stageMem, r.usage.maxRssMb); // memory: the worst of the runs
    if (b / r.ms > stageRatio) {
      stageRatio = b / r.ms;
      bareMs = b;
      stageMs = r.ms;
    }
  }
  const bareRate = (BIG * 1000) / bareMs;
  const stageRate = (BIG * 1000) / stageMs;
  add(`1. staging ${f(BIG)} rows (read + validate + ledger, \`--dry-run\`), rows/s`, f(stageRate), `${f(bareRate)} (bare csv-parse read)`, stageRatio, '≥ 0.5', stageRatio >= 0.5, 'two busy cores: reading (csv-parse, validation, GC) and the ledger thread (SQLite upserts, keyed hash)');
  log('staging the 100k file (--dry-run)');
  rmSync(join(OUT, 'stage-small.db'), { force: true });
  const stageSmall = await runNode(CLI, ['upload', 'borrow-entities', small, '--dry-run', ...dryKeys, '--ledger', join(OUT, 'stage-small.db'), '--json', '--no-progress']);

  // 2. the rerun: everything already uploaded
  log('building a ledger where all 1M rows are uploaded');
  const rerunDb = join(OUT, 'rerun.db');
  for (const s of ['', '-wal', '-shm']) rmSync(rerunDb + s, { force: true });
  await uploadedLedger(big, rerunDb, keys.appPrivateKey);
  const sandbox = await startSandbox(keys);
  try {
    let rerunRatio = 0;
    let rerunMs = Infinity;
    let rerunBareMs = Infinity;
    for (let rep = 1; rep <= REPS; rep++) {
      log(`bare read, then rerunning the ${f(BIG)}-row file against the sandbox (${rep}/${REPS})`);
      const b = lastJson((await runNode(join(DIST, 'bench', 'bare-read.js'), [big])).stdout).ms!;
      const r = await runNode(CLI, ['upload', 'borrow-entities', big, '--gateway', sandbox.url, '--app-id', '2021000000000001', ...cliKeys, '--ledger', rerunDb, '--json', '--no-progress']);
      if (r.code !== 0) throw new Error(`rerun failed (${r.code}): ${r.stderr.slice(-500)}`);
      if (b / r.ms > rerunRatio) {
        rerunRatio = b / r.ms;
        rerunMs = r.ms;
        rerunBareMs = b;
      }
    }
    const sentOnRerun = (await sandbox.requests()).length;
    const rerunRate = (BIG * 1000) / rerunMs;
    add(`2. rerun of the ${f(BIG)}-row file, all already uploaded, rows/s`, `${f(rerunRate)} (${sentOnRerun} requests)`, `${f((BIG * 1000) / rerunBareMs)} (bare read)`, rerunRatio, '≥ 0.5, 0 requests', rerunRatio >= 0.5 && sentOnRerun === 0, 'the reading thread; one indexed lookup per row');

    // 7. `rows` streams: listing the 1M-row ledger stays far below the cap (beside a 100k-row one for scale)
    log(`listing the ${f(BIG)} rows of the ledger with rows --format csv, then the ${f(SMALL)} of a small one`);
    const smallDb = join(OUT, 'rows-small.db');
    for (const s of ['', '-wal', '-shm']) rmSync(smallDb + s, { force: true });
    await uploadedLedger(small, smallDb, keys.appPrivateKey);
    const listBig = await runNode(CLI, ['rows', '--ledger', rerunDb, '--format', 'csv'], {}, { discard: true });
    const listSmall = await runNode(CLI, ['rows', '--ledger', smallDb, '--format', 'csv'], {}, { discard: true });
    if (listBig.code !== 0 || listSmall.code !== 0) throw new Error(`rows failed: ${listBig.stderr.slice(-300)} ${listSmall.stderr.slice(-300)}`);
    add(
      `7. peak RSS, \`rows --format csv\` of ${f(BIG)} rows, MB`, `${f(listBig.usage.maxRssMb)} (${f((BIG * 1000) / listBig.ms)} rows/s)`,
      `${f(listSmall.usage.maxRssMb)} (${f(SMALL)} rows)`, listBig.usage.maxRssMb / listSmall.usage.maxRssMb, '< 256 MB',
      listBig.usage.maxRssMb < 256,
      'one row at a time from a SQLite iterator (the live heap stays at ~5 MB); V8 lets its young and old generations grow with the allocation rate of csv-stringify per row, not with the row count',
    );

    // 3. sending, CPU per request vs one bare RSA2 signature (best of REPS, like the rows above)
    const key = loadPrivateKey(keys.appPrivateKey);
    const sampleFile = join(OUT, 'sign-string.txt');
    writeFileSync(sampleFile, signString({ app_id: '2021000000000001', method: 'zhima.merchant.borrow.entity.upload', format: 'JSON', charset: 'utf-8', sign_type: 'RSA2', timestamp: beijingTimestamp(Date.now()), version: '1.0', biz_content: JSON.stringify({ product_code: 'w1010100000000002858', line: readFileSync(send, 'utf8').split('\n')[1]! }) }));
    const signScript = join(DIST, 'bench', 'bare-sign.js');
    let sent: Ran | null = null;
    let oursRate = 0;
    let sentSummary: Record<string, number> = {};
    let cpuRatio = Infinity;
    let bareSignMs = NaN;
    for (let rep = 1; rep <= REPS; rep++) {
      log(`sending ${f(SEND)} rows, no QPS ceiling, concurrency 16, then the signature floor (${rep}/${REPS})`);
      await sandbox.reset();
      for (const s of ['', '-wal', '-shm']) rmSync(join(OUT, 'send.db') + s, { force: true });
      const r = await runNode(CLI, ['upload', 'borrow-entities', send, '--gateway', sandbox.url, '--app-id', '2021000000000001', ...cliKeys, '--ledger', join(OUT, 'send.db'), '--qps', '0', '--concurrency', '16', '--json', '--no-progress']);
      if (r.code !== 0) throw new Error(`send failed (${r.code}): ${r.stderr.slice(-500)}`);
      const rate = arrivalRate((await sandbox.requests()).map((q) => q.at));
      // the floor right after, for a ratio from one moment (enough signatures to last several seconds)
      const floorMs = lastJson((await runNode(signScript, [keys.appPrivateKey, sampleFile, '8000'])).stdout).cpuMsPerSign!;
      const ratio = r.usage.cpuMs / SEND / floorMs;
      if (ratio < cpuRatio) {
        cpuRatio = ratio;
        sent = r;
        sentSummary = lastJson(r.stdout);
        bareSignMs = floorMs;
        oursRate = rate;
      }
    }
    const cpuPerRequest = sent!.usage.cpuMs / SEND;
    add(`3. sending ${f(SEND)} rows (qps none, concurrency 16): client CPU per request, ms`, `${f(cpuPerRequest, 3)} (${f(oursRate)} req/s, uploaded ${f(sentSummary.uploaded ?? 0)})`, `${f(bareSignMs, 3)} (one bare RSA2 signature, in a tight loop)`, cpuRatio, '≤ 1.5', cpuRatio <= 1.5, 'RSA2 signing (about two thirds); then HTTP, the ledger write, staging');

    // 4. the official SDK, same rows, same sandbox, same concurrency
    log(`sending the same ${f(SEND)} rows with the official alipay-sdk`);
    await sandbox.reset();
    const pemKey = key;
    const pem = join(OUT, 'keys', 'app_private_key_pkcs1.pem');
    writeFileSync(pem, pemKey.export({ format: 'pem', type: 'pkcs1' }) as string);
    const sdk = await runNode(join(DIST, 'bench', 'sdk-client.js'), [sandbox.url, '2021000000000001', pem, keys.alipayPublicKey, send, '16'], { TZ: 'Asia/Shanghai' });
    const sdkOut = lastJson(sdk.stdout);
    const sdkRate = arrivalRate((await sandbox.requests()).map((r) => r.at));
    add('4. requests/s against the official alipay-sdk + p-limit (16)', f(oursRate), `${f(sdkRate)} (SDK; ${f(sdkOut.ok ?? 0)} ok, ${f(sdk.usage.cpuMs / SEND, 3)} ms CPU/request)`, oursRate / sdkRate, '≥ 2', oursRate / sdkRate >= 2, 'client CPU per request');

    // 5. memory
    add(`5. peak RSS, staging ${f(BIG)} rows, MB`, f(stageMem), `${f(stageSmall.usage.maxRssMb)} (${f(SMALL)} rows)`, stageMem / stageSmall.usage.maxRssMb, '< 256 MB, flat (≈ 1)', stageMem < 256 && stageMem / stageSmall.usage.maxRssMb < 1.25, 'bounded batches; SQLite page cache');
    add(`5. peak RSS, sending ${f(SEND)} rows, MB`, f(sent!.usage.maxRssMb), '', NaN, '< 256 MB', sent!.usage.maxRssMb < 256, 'a bounded window of claimed rows');

    // 6. rate accuracy
    log(`--qps ${QPS} for ${QPS_SECONDS} s`);
    await sandbox.reset();
    rmSync(join(OUT, 'rate.db'), { force: true });
    await runNode(CLI, ['upload', 'borrow-entities', rate, '--gateway', sandbox.url, '--app-id', '2021000000000001', ...cliKeys, '--ledger', join(OUT, 'rate.db'), '--qps', String(QPS), '--concurrency', '8', '--json', '--no-progress']);
    const at = (await sandbox.requests()).map((r) => r.at);
    const achieved = arrivalRate(at);
    const most = maxInWindow(at, 1000);
    add(`6. rate accuracy at --qps ${QPS} for ${QPS_SECONDS} s: achieved req/s`, `${f(achieved, 2)} (most in any 1 s: ${most})`, String(QPS), achieved / QPS, `0.95-1.0; ≤ ${QPS} + 1 in any second`, achieved / QPS >= 0.95 && Number((achieved / QPS).toFixed(2)) <= 1.0 && most <= QPS + 1, 'the ceiling (burst 1)');
  } finally {
    sandbox.stop();
  }

}

async function main() {
  const t0 = performance.now();
  mkdirSync(OUT, { recursive: true });
  const keys = readKeyFiles(join(OUT, 'keys'))?.files ?? writeKeyFiles(join(OUT, 'keys'), generateKeyPairs());
  const rows: string[][] = [];
  const add: Add = (what, ours, base, ratio, target, met, bound) =>
    void rows.push([what, ours, base, Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a', target, met === null ? '' : met ? 'yes' : '**no**', bound]);

  // BENCH_ONLY=quota (or throughput) runs one part: the quota measures alone take about three minutes.
  const only = process.env.BENCH_ONLY;
  if (only !== 'quota') await throughput(keys, add);
  if (only !== 'throughput') for (const r of await quotaBench(keys)) add(...r);

  const head = ['measure', 'alipay-sync', 'baseline (same run)', 'ratio', 'target', 'met', 'what bounds it'];
  const table = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const text = `${table}\n\nMeasured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}, ${process.platform} ${process.arch}, Node ${process.version}, ${(await import('node:os')).cpus().length} cores; the whole run took ${f((performance.now() - t0) / 1000)} s.\n`;
  writeFileSync(join(OUT, 'results.md'), text);
  process.stdout.write(text);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
