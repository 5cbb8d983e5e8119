import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agreementDatasets, datasets } from '../sources/index.js';
import type { Dataset } from '../sources/dataset.js';
import { effectSink, querySink, type ResultSink } from './agreements.js';
import { NotifyServer } from './notify/server.js';
import { parseAgreementSeed } from './sandbox/methods/agreements.js';
import { readFileSync } from 'node:fs';
import { AlipayClient } from './alipay/client.js';
import type { Logger } from './log.js';
import { generateKeyPairs, readKeyFiles, writeKeyFiles } from './sandbox/keys.js';
import { checkLedgerPath } from './paths.js';
import { SyncError } from './errors.js';
import { targetGateway } from './config.js';
import { SandboxGateway } from './sandbox/server.js';
import { humanSummary } from './summary.js';
import { runUpload } from './upload.js';
import { loadPrivateKey, loadPublicKey } from './alipay/keys.js';
import { loadHoldings, restoreHoldings, saveHoldings } from './sandbox/holdings.js';

export interface DemoOptions {
  ledgerPath: string;
  examplesDir?: string;
  json: boolean;
  out: { write(text: string): unknown };
  logger: Logger;
}

export const PACKAGE_EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

/**
 * `npm start`: a real sync with no Alipay account. It starts the sandbox gateway on a free loopback port with
 * keys made by the first run (written beside the ledger and read back through the same key loading a user's
 * files go through), then uploads every examples/<dataset>.csv into a demo ledger that is kept, so a second run
 * skips everything. What the sandbox holds ("Alipay's" borrow points, contracts, agreements' states) is kept
 * beside the ledger too: the ledger and "Alipay" stay in step from one run to the next, as with the real one.
 */
export async function runDemo(o: DemoOptions): Promise<number> {
  const examples = o.examplesDir ?? PACKAGE_EXAMPLES;
  // A wrong --examples must not look like a demo that ran: the folder must hold at least one sample file.
  const samples = [...Object.keys(datasets).map((n) => `${n}.csv`), 'agreement-effects.csv', 'agreement-queries.csv'];
  if (!samples.some((f) => existsSync(join(examples, f)))) {
    throw new SyncError('SYNC_SOURCE_READ', `--examples ${examples}: no sample file there (expected some of ${samples.join(', ')})`);
  }
  // The demo's keys live beside its ledger (0600), made once: the ledger's hash secret is wrapped with the app
  // private key, and a second `npm start` must find what the first one recorded.
  mkdirSync(dirname(o.ledgerPath), { recursive: true });
  checkLedgerPath(o.ledgerPath, { dryRun: false });
  const keysDir = join(dirname(o.ledgerPath), 'keys');
  const kept = readKeyFiles(keysDir)?.files;
  const files = kept ?? writeKeyFiles(keysDir, generateKeyPairs());
  const privateKey = loadPrivateKey(files.appPrivateKey);
  const alipayPublicKey = loadPublicKey(files.alipayPublicKey);
  const seedFile = join(examples, 'agreements.json');
  const agreements = existsSync(seedFile) ? parseAgreementSeed(readFileSync(seedFile, 'utf8')) : [];
  const gateway = new SandboxGateway({
    appPublicKey: loadPublicKey(files.appPublicKey), alipayPrivateKey: loadPrivateKey(files.alipayPrivateKey), agreements,
  });
  const holdingsPath = join(dirname(o.ledgerPath), 'sandbox-holdings.json');
  let held;
  try {
    held = loadHoldings(holdingsPath);
  } catch (err) {
    throw new SyncError('SYNC_SOURCE_READ', `${holdingsPath}: ${(err as Error).message} (what the demo's sandbox held: delete the demo folder to start afresh)`);
  }
  if (held) restoreHoldings(gateway, held);
  const url = await gateway.start();
  // The merchant's side of notifications, on the same ledger: the sandbox announces agreements made effective.
  const notify = new NotifyServer({ ledgerPath: o.ledgerPath, alipayPublicKey, appId: gateway.appId, logger: o.logger });
  const notifyUrl = await notify.start();
  // With --json, stdout carries only JSON (one summary a run, then the demo's own as the last line); the
  // human text goes to stderr.
  const say = (s: string) => (o.json ? process.stderr.write(s + '\n') : o.out.write(s + '\n'));
  const runs: unknown[] = [];
  const keysNote = kept ? `RSA2 keys from ${keysDir}, made by the first run` : `fresh RSA2 keys, kept in ${keysDir}`;
  const heldNote = held ? `; it holds what earlier demo runs sent (${holdingsPath})` : '';
  say(`alipay-sync demo: sandbox gateway on ${url} (${keysNote}; answers are signed and verified${heldNote})`);
  say(`ledger: ${o.ledgerPath}; notify receiver on ${notifyUrl}\n`);
  const client = new AlipayClient({ gateway: url, appId: gateway.appId, privateKey, alipayPublicKey, connections: 8 });
  const exportPath = join(dirname(o.ledgerPath), 'agreements.csv');
  const jobs: { dataset: Dataset; file: string; sink?: ResultSink; notifyUrl?: string; note?: string }[] = [
    ...Object.values(datasets).map((dataset) => ({ dataset, file: join(examples, `${dataset.name}.csv`) })),
    { dataset: agreementDatasets.effect, file: join(examples, 'agreement-effects.csv'), notifyUrl, note: 'agreements effect' },
    { dataset: agreementDatasets.query, file: join(examples, 'agreement-queries.csv'), note: `agreements query --out ${exportPath}` },
  ];
  let worst = 0;
  try {
    for (const job of jobs) {
      const { dataset, file } = job;
      if (!existsSync(file)) continue;
      const rejectsPath = join(dirname(o.ledgerPath), `rejects-${dataset.name}.csv`);
      say(`${job.note ?? `upload ${dataset.name}`}: ${relative(process.cwd(), file) || file} (${dataset.method})`);
      const sink = job.sink ?? (dataset === agreementDatasets.effect ? effectSink() : dataset === agreementDatasets.query ? querySink(exportPath) : undefined);
      const { summary, exitCode } = await runUpload({
        dataset, files: [file], ledgerPath: o.ledgerPath, client, rejectsPath, qps: 50, concurrency: 8,
        target: { gateway: targetGateway(url), appId: gateway.appId }, hashKey: privateKey.export({ type: 'pkcs8', format: 'der' }),
        logger: o.logger, command: `demo ${dataset.name}`, sink, notifyUrl: job.notifyUrl,
      });
      say(humanSummary(summary, rejectsPath));
      if (o.json) {
        o.out.write(JSON.stringify({ ...summary, exit_code: exitCode }) + '\n');
        runs.push({ dataset: summary.dataset, run_id: summary.run_id, status: summary.status, exit_code: exitCode });
      }
      const sent = gateway.requestCounts(dataset.method).size;
      if (dataset === agreementDatasets.query) say(`  export: ${exportPath}`);
      else say(`  the sandbox gateway received ${sent} key(s) for it in this session`);
      say('');
      worst = Math.max(worst, exitCode === 1 ? 0 : exitCode);
    }
    await gateway.notificationsSettled();
    const applied = gateway.notifications.filter((n) => n.body === 'success').length;
    if (gateway.notifications.length) say(`notifications: the sandbox announced ${gateway.notifications.length} agreement(s) made effective; the receiver took ${applied}\n`);
  } finally {
    await client.close();
    await gateway.stop();
    await notify.stop();
    saveHoldings(holdingsPath, gateway);
  }
  say('The sample files hold a few invalid rows on purpose (rejected with file, line, field and reason), and a few agreements that cannot be made effective (stopped, unknown).');
  say('Run `npm start` again: the ledger knows what Alipay holds, so no upload is sent twice (queries ask again every run).');
  say(`See the runs with: npx alipay-sync status --ledger ${o.ledgerPath}`);
  if (o.json) o.out.write(JSON.stringify({ status: 'done', exit_code: worst, runs }) + '\n');
  return worst;
}
