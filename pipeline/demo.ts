import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasets } from '../sources/index.js';
import { AlipayClient } from './alipay/client.js';
import type { Logger } from './log.js';
import { generateKeyPairs, writeKeyFiles } from './sandbox/keys.js';
import { SandboxGateway } from './sandbox/server.js';
import { humanSummary } from './summary.js';
import { runUpload } from './upload.js';
import { loadPrivateKey, loadPublicKey } from './alipay/keys.js';

export interface DemoOptions {
  ledgerPath: string;
  examplesDir?: string;
  json: boolean;
  out: NodeJS.WritableStream;
  logger: Logger;
}

export const PACKAGE_EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

/**
 * `npm start`: a real sync with no Alipay account. It starts the sandbox gateway on a free loopback port with
 * fresh keys (written to a temp dir and read back through the same key loading a user's files go through),
 * then uploads every examples/<dataset>.csv into a demo ledger that is kept, so a second run skips everything.
 */
export async function runDemo(o: DemoOptions): Promise<number> {
  const examples = o.examplesDir ?? PACKAGE_EXAMPLES;
  const keysDir = mkdtempSync(join(tmpdir(), 'alipay-sync-demo-keys-'));
  const files = writeKeyFiles(keysDir, generateKeyPairs());
  const privateKey = loadPrivateKey(files.appPrivateKey);
  const alipayPublicKey = loadPublicKey(files.alipayPublicKey);
  const gateway = new SandboxGateway({ appPublicKey: loadPublicKey(files.appPublicKey), alipayPrivateKey: loadPrivateKey(files.alipayPrivateKey) });
  const url = await gateway.start();
  mkdirSync(dirname(o.ledgerPath), { recursive: true });
  const say = (s: string) => o.out.write(s + '\n');
  say(`alipay-sync demo: sandbox gateway on ${url} (fresh RSA2 keys; answers are signed and verified)`);
  say(`ledger: ${o.ledgerPath}\n`);
  const client = new AlipayClient({ gateway: url, appId: gateway.appId, privateKey, alipayPublicKey, connections: 8 });
  let worst = 0;
  try {
    for (const dataset of Object.values(datasets)) {
      const file = join(examples, `${dataset.name}.csv`);
      if (!existsSync(file)) continue;
      const rejectsPath = join(dirname(o.ledgerPath), `rejects-${dataset.name}.csv`);
      say(`uploading ${relative(process.cwd(), file) || file} (${dataset.method})`);
      const { summary, exitCode } = await runUpload({
        dataset, files: [file], ledgerPath: o.ledgerPath, client, rejectsPath, qps: 50, concurrency: 8,
        logger: o.logger, command: `demo ${dataset.name}`,
      });
      say(humanSummary(summary, rejectsPath));
      if (o.json) say(JSON.stringify(summary));
      const held = gateway.methods.get(dataset.method)?.snapshot();
      const heldCount = Array.isArray(held) ? held.length : 0;
      say(`  the sandbox gateway received ${gateway.requestCounts(dataset.method).size} key(s) in this session and holds ${heldCount}\n`);
      worst = Math.max(worst, exitCode === 1 ? 0 : exitCode);
    }
  } finally {
    await client.close();
    await gateway.stop();
    rmSync(keysDir, { recursive: true, force: true });
  }
  say('The sample files hold a few invalid rows on purpose: they are rejected with file, line, field and reason.');
  say('Run `npm start` again: the ledger knows what Alipay holds, so nothing is sent twice.');
  say(`See the runs with: npx alipay-sync status --ledger ${o.ledgerPath}`);
  return worst;
}
