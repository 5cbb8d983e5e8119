/** `alipay-sync check`, offline and --online, and the offline part that every upload runs first. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OFFLINE_CHECKS, runOfflineChecks } from '../pipeline/check/offline.js';
import { Ledger } from '../state/ledger.js';
import { lastJson, runCli } from './helpers/cli.js';
import { startCertSandbox } from './helpers/certs.js';
import { startSandbox, testKeys } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';
import { entities, toCsv } from './helpers/borrow.js';

function otherKeyFiles(dir: string) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: writeFile(dir, 'other_private_key.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
    publicKey: writeFile(dir, 'other_public_key.pem', publicKey.export({ type: 'spki', format: 'pem' }) as string),
  };
}

test('check offline: every check listed; the classic mistake (the app public key as --alipay-public-key) is exit 2, and upload stops on it before sending', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const ok = await runCli(['check', ...sb.flags, '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const j = lastJson(ok.stdout);
  assert.deepEqual((j.checks as { check: string; status: string }[]).map((c) => [c.check, c.status]), [
    ['gateway', 'ok'], ['app-id', 'ok'], ['keys', 'ok'], ['key-pair', 'ok'], ['clock', 'ok'],
  ]);
  assert.equal(typeof j.version, 'string');
  assert.match(ok.stderr, /^ok\s+keys\s+app private key: RSA 2048 bits; Alipay public key: RSA 2048 bits$/m);

  const mixed = sb.flags.map((f) => (f === sb.files.alipayPublicKey ? sb.files.appPublicKey : f));
  const mistake = await runCli(['check', ...mixed]);
  assert.equal(mistake.code, 2);
  assert.match(mistake.stdout, /^fail\s+key-pair\s+--alipay-public-key is your app public key/m);
  const upload = await runCli(['upload', 'borrow-entities', writeFile(dir, 'p.csv', toCsv(entities(3))), ...mixed, '--ledger', join(dir, 'l.db'), '--json']);
  assert.equal(upload.code, 2);
  assert.match(upload.stderr, /--alipay-public-key is your app public key/);
  assert.equal(sb.gateway.requests.length, 0, 'no request sent');
  assert.equal(existsSync(join(dir, 'l.db')), false, 'no ledger made');

  const missing = await runCli(['check', '--app-id', 'x y', '--private-key', join(dir, 'nope.pem')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stdout, /^fail\s+app-id/m);
  assert.match(missing.stdout, /^fail\s+keys\s+.*--private-key.*; --alipay-public-key is required/m);
});

test('check --online: one harmless signed call proves app id, keys and permission; each wrong setting is named (exit 3)', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const good = await runCli(['check', '--online', ...sb.flags]);
  assert.equal(good.code, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /^ok\s+gateway-call\s+alipay\.user\.agreement\.query .* → 40004 (USER_NOT_EXIST_ERROR|USER_AGREEMENT_NOT_EXIST), as expected/m);
  assert.match(good.stdout, /trace_id [0-9a-f]{30}/);
  assert.match(good.stdout, /^ok\s+clock-vs-gateway\s+the host clock is \d+ s (ahead of|behind) the gateway's$/m);
  const upload = await runCli(['check', '--online', '--dataset', 'borrow-entities', ...sb.flags]);
  assert.match(upload.stdout, /zhima\.merchant\.borrow\.entity\.upload with no fields at all → 40004 NULL_ARGUMENT, as expected/);
  assert.equal(sb.gateway.borrowEntities.entities().length, 0, 'nothing stored');

  const other = otherKeyFiles(dir);
  const swap = (from: string, to: string) => sb.flags.map((f) => (f === from ? to : f));
  const wrongPrivate = await runCli(['check', '--online', ...swap(sb.files.appPrivateKey, other.privateKey)]);
  assert.equal(wrongPrivate.code, 3);
  assert.match(wrongPrivate.stdout, /^fail\s+gateway-call\s+.*isv\.invalid-signature.*--private-key is not the pair of the app public key uploaded/m);
  const wrongAlipay = await runCli(['check', '--online', ...swap(sb.files.alipayPublicKey, other.publicKey)]);
  assert.equal(wrongAlipay.code, 3);
  assert.match(wrongAlipay.stdout, /does not verify with --alipay-public-key/);
  const wrongApp = await runCli(['check', '--online', ...swap(sb.gateway.appId, '2021009999999999'), '--json']);
  assert.equal(wrongApp.code, 3);
  assert.match(wrongApp.stderr, /isv\.invalid-app-id/);
  assert.equal(lastJson(wrongApp.stdout).exit_code, 3);
  // an offline failure means no call at all
  const before = sb.gateway.requests.length;
  const offline = await runCli(['check', '--online', ...swap(sb.files.alipayPublicKey, sb.files.appPublicKey)]);
  assert.equal(offline.code, 2);
  assert.match(offline.stdout, /^fail\s+gateway-call\s+not made/m);
  assert.equal(sb.gateway.requests.length, before);
});

test('the offline checks are a list (certificate checks join it); the clock is compared with the ledger\'s latest run', () => {
  assert.deepEqual(OFFLINE_CHECKS.map((c) => c.name), ['gateway', 'app-id', 'keys', 'key-pair', 'certificates', 'encrypt-key', 'clock']);
  const { files } = testKeys();
  const dir = tempDir();
  const ledgerPath = join(dir, 'l.db');
  const l = new Ledger(ledgerPath, { clock: () => Date.parse('2026-06-01T00:00:00Z') });
  l.startRun('borrow-entities', 'upload', [], false);
  l.close();
  const raw = { appId: '2021000000000001', privateKey: files.appPrivateKey, alipayPublicKey: files.alipayPublicKey };
  const at = (iso: string) => runOfflineChecks({ raw, origins: {}, now: Date.parse(iso), ledgerPath }).results.find((r) => r.check === 'clock')!;
  assert.equal(at('2026-06-01T00:10:00Z').status, 'ok');
  const behind = at('2026-05-01T00:00:00Z');
  assert.equal(behind.status, 'warn');
  assert.match(behind.message, /before the ledger's latest run started/);
  assert.equal(at('2019-01-01T00:00:00Z').status, 'fail');
});

test('check in certificate mode: the certificates are checked offline (no --alipay-public-key wanted), and --online verifies with them', async () => {
  const sb = await startCertSandbox();
  const ok = await runCli(['check', '--online', ...sb.flags, '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const checks = (lastJson(ok.stdout).checks as { check: string; status: string }[]).map((c) => [c.check, c.status]);
  assert.deepEqual(checks.filter(([c]) => ['keys', 'certificates', 'gateway-call'].includes(c!)), [['keys', 'ok'], ['certificates', 'ok'], ['gateway-call', 'ok']]);
  assert.match(ok.stderr, /verifies with the Alipay certificate/);
  assert.match(ok.stderr, /the app certificate uploaded for it is the pair of --private-key/, 'certificate mode speaks of the app certificate');
  assert.ok(!checks.some(([c]) => c === 'key-pair'), 'no Alipay public key to compare');
  // the app certificate of another private key
  const dir = tempDir();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = writeFile(dir, 'other.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  const wrong = await runCli(['check', ...sb.flags.map((f) => (f === sb.files.appPrivateKey ? other : f))]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stdout, /^fail\s+certificates\s+--app-cert does not belong to --private-key/m);
  const both = await runCli(['check', ...sb.flags, '--alipay-public-key', sb.files.alipayPublicKey]);
  assert.equal(both.code, 2);
  assert.match(both.stdout, /two signing modes/);
});

test('check lines on a terminal are wrapped at words under the message column; in a pipe one line each', async () => {
  const { checkText } = await import('../pipeline/commands/check.js');
  const { displayWidth } = await import('../pipeline/table.js');
  const long = 'the gateway answered 40004 isv.insufficient-isv-permissions: the app has no permission for zhima.merchant.borrow.entity.upload (ISV权限不足，建议在开发者中心检查对应功能是否已经添加); add the product in the console, then try again';
  const results = [{ check: 'app-id', status: 'ok' as const, message: '2021000000000001' }, { check: 'gateway-call', status: 'fail' as const, message: long }];
  const text = checkText(results, 79);
  const lines = text.split('\n');
  assert.ok(lines.length > 3, text);
  for (const line of lines) assert.ok(displayWidth(line) <= 79, line);
  assert.match(lines[1]!, /^fail {2}gateway-call {2}the gateway answered/);
  for (const line of lines.slice(2)) assert.match(line, /^ {20}\S/, 'continued under the message');
  assert.equal(lines.slice(1).map((l) => l.slice(20)).join(' '), long, 'no word lost');
  assert.equal(checkText(results, null).split('\n')[1], `fail  gateway-call  ${long}`);
});
