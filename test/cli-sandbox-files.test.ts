/** `alipay-sync sandbox` as a new user starts it outside the checkout: the files it makes and the line it prints. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { spawnCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

test('sandbox --cert-mode names the app certificate as the console does (appCertPublicKey_<app id>.crt); its try: line names the sample file by an absolute path that exists', async () => {
  const dir = tempDir();
  const keysDir = join(dir, 'keys');
  const { child, done } = spawnCli(['sandbox', '--port', '0', '--keys-dir', keysDir, '--cert-mode', '--app-id', '2021004100000000'], { cwd: dir, timeoutMs: 60_000 });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/Ctrl-C/.test(out)) resolve();
    });
    child.on('close', () => reject(new Error(`sandbox ended early: ${out}`)));
  });
  child.kill('SIGTERM');
  assert.equal((await done).code, 0);
  const appCert = join(keysDir, 'appCertPublicKey_2021004100000000.crt');
  assert.ok(existsSync(appCert), `made ${appCert}`);
  assert.ok(!existsSync(join(keysDir, 'appCertPublicKey.crt')));
  assert.ok(out.includes(`--app-cert ${appCert}`), out);
  const sample = /^try: alipay-sync upload borrow-entities (\S+) /m.exec(out)?.[1];
  assert.ok(sample && isAbsolute(sample) && existsSync(sample), `the try: line's file exists from ${dir}: ${sample}`);
});
