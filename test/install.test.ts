/**
 * A production install from a fresh checkout: `npm install --omit=dev` must give a working alipay-sync (the
 * build runs at install time, so TypeScript is a dependency; tests and bench, which need the dev-only
 * alipay-sdk, are left out of that build). From the npm cache where it can, bounded in time.
 *
 * The checkout borrows this repository's compiled better-sqlite3 (same version, same machine), which npm then
 * keeps: compiling its native addon took a minute of the suite's two, and proves nothing of ours. `.ci/run`'s
 * `npm ci` on a clean checkout compiles it from scratch, and the dry run below loads it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO } from './helpers/cli.js';
import { testKeys } from './helpers/sandbox.js';
import { tempDir } from './helpers/tmp.js';

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => (out += String(err)));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

test('npm install --omit=dev on a fresh checkout gives a working alipay-sync', async () => {
  const dir = join(tempDir('alipay-sync-install-'), 'checkout');
  // What a clone holds: the files git tracks, nothing built, no node_modules.
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) {
    if (!existsSync(join(REPO, f))) continue;
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(REPO, f), join(dir, f));
  }
  cpSync(join(REPO, 'node_modules', 'better-sqlite3'), join(dir, 'node_modules', 'better-sqlite3'), { recursive: true });
  const install = await run('npm', ['install', '--omit=dev', '--prefer-offline'], dir, 300_000);
  assert.equal(install.code, 0, install.out.slice(-3000));
  assert.equal(existsSync(join(dir, 'node_modules', 'alipay-sdk')), false, 'no dev dependency installed');
  // package.json's bin, as `npx alipay-sync` in the checkout (or a global link) runs it: built and executable.
  const bin = join(dir, 'dist', 'pipeline', 'cli.js');
  const help = await run(bin, ['--help'], dir, 30_000);
  assert.equal(help.code, 0, help.out);
  assert.match(help.out, /alipay-sync upload /);
  assert.match(help.out, /alipay-sync rows /);
  // A real command through the ledger and its staging thread: a dry run of the sample file.
  const { files: keys } = testKeys();
  const dry = await run(bin, ['upload', 'borrow-entities', 'examples/borrow-entities.csv', '--dry-run', '--app-id', '2021000000000001',
    '--private-key', keys.appPrivateKey, '--alipay-public-key', keys.alipayPublicKey, '--json'], dir, 60_000);
  assert.equal(dry.code, 1, dry.out); // the sample holds invalid rows on purpose
  assert.match(dry.out, /"status":"dry-run"/);
});
