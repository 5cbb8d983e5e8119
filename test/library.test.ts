/** The package as a library, imported by its name (package.json "exports"), as an application would. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir, writeFile } from './helpers/tmp.js';
import { entities, toCsv } from './helpers/borrow.js';

test('import "alipay-sync" gives the documented API, and runUpload syncs a file against the sandbox it exports', async () => {
  // by name, not by path: resolved through package.json "exports" (a typed import would need dist/ before it is built)
  const name = 'alipay-sync';
  const lib = (await import(name)) as typeof import('../pipeline/index.js');
  for (const k of ['runUpload', 'AlipayClient', 'resolveSendSettings', 'SandboxGateway', 'generateKeyPairs', 'Ledger', 'datasets', 'streamLogger', 'EXIT']) {
    assert.ok(k in lib, `exports ${k}`);
  }
  const keys = lib.generateKeyPairs();
  const sandbox = new lib.SandboxGateway({ appPublicKey: keys.appPublicKey, alipayPrivateKey: keys.alipayPrivateKey });
  const url = await sandbox.start();
  const client = new lib.AlipayClient({ gateway: url, appId: sandbox.appId, privateKey: keys.appPrivateKey, alipayPublicKey: keys.alipayPublicKey });
  try {
    const dir = tempDir();
    const file = writeFile(dir, 'points.csv', toCsv(entities(5)));
    const { summary, exitCode } = await lib.runUpload({
      dataset: lib.datasets['borrow-entities']!, files: [file], ledgerPath: join(dir, 'ledger.db'), client,
      target: { gateway: lib.targetGateway(url), appId: sandbox.appId }, hashKey: keys.appPrivateKey.export({ type: 'pkcs8', format: 'der' }),
      logger: lib.silentLogger,
    });
    assert.equal(exitCode, lib.EXIT.OK);
    assert.equal(summary.uploaded, 5);
  } finally {
    await client.close();
    await sandbox.stop();
  }
});
