/**
 * Content encryption (接口内容加密, encrypt_type=AES): our AES against the official alipay-sdk's both ways, the SDK's
 * encrypted request accepted by the sandbox, and end to end with the CLI: worker contracts sent encrypted and
 * answered encrypted, a wrong key (exit 3, nothing counted), encrypted answers without a key (exit 3, named), and
 * the key kept out of every output, the ledger and the recorded command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AlipaySdk } from 'alipay-sdk';
import { aesDecrypt, aesEncrypt, loadAesKey } from '../pipeline/alipay/aes.js';
import { readAnswer } from '../pipeline/alipay/response.js';
import { newContentKey } from '../pipeline/sandbox/content-crypto.js';
import { toCsv } from './helpers/borrow.js';
import { lastJson, runCli } from './helpers/cli.js';
import { contract, CONTRACT_COLUMNS } from './helpers/people.js';
import { inBeijingTime } from './helpers/tz.js';
import { startSandbox, testKeys, type TestSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';

const METHOD = 'alipay.ins.scene.contract.workersaas.upload';
const KEY = newContentKey();
const KEY_B64 = KEY.toString('base64');
const pem = (k: import('node:crypto').KeyObject) =>
  k.type === 'private' ? (k.export({ format: 'pem', type: 'pkcs1' }) as string) : (k.export({ format: 'pem', type: 'spki' }) as string);

function sdk(gateway?: string): AlipaySdk {
  const { keys } = testKeys();
  return new AlipaySdk({
    appId: '2021000000000001', privateKey: pem(keys.appPrivateKey), alipayPublicKey: pem(keys.alipayPublicKey), encryptKey: KEY_B64,
    camelcase: false, ...(gateway ? { gateway } : {}),
  });
}

test('our AES and the official SDK\'s agree both ways (AES/CBC/PKCS5, zero IV, base64)', () => {
  const key = loadAesKey(KEY_B64);
  const plain = JSON.stringify({ real_name: '张三', id_card: '330106199001011234', note: 'a/b "quoted" 5元/小时' });
  assert.equal(sdk().aesDecrypt(aesEncrypt(plain, key)), plain, 'the SDK decrypts ours');
  const query = sdk().sdkExecute(METHOD, { bizContent: JSON.parse(plain) as object, needEncrypt: true });
  const params = Object.fromEntries(new URLSearchParams(query));
  assert.equal(params.encrypt_type, 'AES');
  assert.deepEqual(JSON.parse(aesDecrypt(params.biz_content!, key)), JSON.parse(plain), 'we decrypt the SDK\'s');
  assert.equal(aesEncrypt(plain, key), aesEncrypt(plain, key), 'deterministic (zero IV), as the SDKs are');
  // a key file, and refusals that never repeat the value
  const dir = tempDir();
  assert.deepEqual(loadAesKey(writeFile(dir, 'aes.txt', KEY_B64 + '\n')), key);
  for (const bad of ['not-a-key', 'QUJD', KEY_B64.slice(0, 20)]) {
    assert.throws(() => loadAesKey(bad), (e: Error) => /not an AES key/.test(e.message) && !e.message.includes(bad));
  }
});

test('a request the official SDK encrypts is accepted by the sandbox; its encrypted answer verifies over the quoted text, with the SDK\'s verifier too', async () => {
  const sb = await startSandbox({ contentKey: KEY, behaviours: { requireEncryption: true } });
  await inBeijingTime(async () => {
    const c = contract(1);
    const res = await sdk(sb.url).exec(METHOD, { bizContent: c, needEncrypt: true }, { validateSign: false });
    assert.equal(res.code, '10000', JSON.stringify(res));
    assert.equal(sb.gateway.workerContracts.contracts()[0]?.sign_order_no, c.sign_order_no);
    assert.equal(sb.gateway.requests[0]?.encrypted, true);
    // the raw answer, through our reader, and the SDK's own rsaCheck over the quoted ciphertext
    const { url, body } = sb.client({ encryptKey: loadAesKey(KEY_B64) }).buildRequest(METHOD, JSON.stringify(contract(2)));
    const text = await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' }, body })).text();
    const answer = readAnswer(text, METHOD);
    assert.ok(answer.encrypted && answer.raw.startsWith('"'), text);
    assert.equal(sdk().rsaCheck(answer.raw, answer.sign!, 'RSA2'), true);
    assert.equal(JSON.parse(sdk().aesDecrypt(answer.encrypted)).code, '10000');
  });
});

function upload(sb: TestSandbox, dir: string, csv: string, extra: string[], env: Record<string, string> = {}) {
  return runCli(['upload', 'worker-contracts', csv, ...sb.flags, '--ledger', join(dir, 'l.db'), '--json', '--no-progress', '--backoff-ms', '5', ...extra], { env });
}

test('worker contracts end to end: sent encrypted, answered encrypted, the key never shown or stored', async () => {
  const sb = await startSandbox({ contentKey: KEY, behaviours: { requireEncryption: true } });
  const dir = tempDir();
  const csv = writeFile(dir, 'c.csv', toCsv(Array.from({ length: 6 }, (_, i) => contract(i + 1)), CONTRACT_COLUMNS));
  const keyFile = writeFile(dir, 'aes_key.txt', KEY_B64 + '\n');
  const r = await upload(sb, dir, csv, ['--verbose'], { ALIPAY_SYNC_ENCRYPT_KEY: keyFile });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lastJson(r.stdout).uploaded, 6);
  const calls = sb.gateway.requests.filter((q) => q.method === METHOD);
  assert.equal(calls.length, 6);
  assert.ok(calls.every((q) => q.encrypted && q.answeredEncrypted), 'every request encrypted, every answer too');
  assert.equal(sb.gateway.workerContracts.contracts().length, 6);
  // the key given as a value on the command line: never echoed, nor recorded in the ledger's command
  const again = await upload(sb, dir, writeFile(dir, 'd.csv', toCsv([contract(50)], CONTRACT_COLUMNS)), ['--encrypt-key', KEY_B64]);
  assert.equal(again.code, 0, again.stderr);
  const st = await runCli(['status', '--ledger', join(dir, 'l.db'), '--json']);
  const bytes = Buffer.concat(['l.db', 'l.db-wal'].map((f) => join(dir, f)).filter(existsSync).map((f) => readFileSync(f))).toString('latin1');
  for (const out of [r.stdout, r.stderr, again.stdout, again.stderr, st.stdout, bytes]) assert.ok(!out.includes(KEY_B64), 'the key appears nowhere');
  assert.match(st.stdout, /--encrypt-key=…/);
});

test('a wrong key: exit 3 naming --encrypt-key, nothing counted as uploaded or failed', async () => {
  const sb = await startSandbox({ contentKey: KEY, behaviours: { requireEncryption: true } });
  const dir = tempDir();
  const csv = writeFile(dir, 'c.csv', toCsv([contract(1), contract(2), contract(3)], CONTRACT_COLUMNS));
  const r = await upload(sb, dir, csv, ['--encrypt-key', newContentKey().toString('base64')]);
  assert.equal(r.code, 3, r.stderr);
  const s = lastJson(r.stdout);
  assert.deepEqual([s.uploaded, s.failed, s.pending], [0, 0, 3]);
  assert.match(r.stderr, /isv\.decryption-error-unknown: the gateway could not decrypt the request .* check --encrypt-key/);
  assert.equal(sb.gateway.workerContracts.contracts().length, 0);
  // no key at all for an app that requires encryption: named too
  const none = await upload(sb, dir, csv, []);
  assert.equal(none.code, 3, none.stderr);
  assert.match(none.stderr, /requires content encryption .* --encrypt-key/);
});

test('encrypted answers without a key are a clear configuration error, not a malformed answer: exit 3, rows pending', async () => {
  const sb = await startSandbox({ contentKey: KEY, behaviours: { encryptAllAnswers: true } });
  const dir = tempDir();
  const r = await upload(sb, dir, writeFile(dir, 'c.csv', toCsv([contract(1), contract(2)], CONTRACT_COLUMNS)), []);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /the answer is encrypted: content encryption \(接口内容加密\) is on for this app; give its AES key with --encrypt-key/);
  const s = lastJson(r.stdout);
  assert.deepEqual([s.uploaded, s.failed], [0, 0]);
  const bad = await upload(sb, dir, writeFile(dir, 'd.csv', toCsv([contract(3)], CONTRACT_COLUMNS)), ['--encrypt-key', 'c2VjcmV0']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--encrypt-key: not an AES key/);
  assert.ok(!bad.stderr.includes('c2VjcmV0'));
});
