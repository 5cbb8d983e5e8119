import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { loadPrivateKey, loadPublicKey, parsePrivateKey, parsePublicKey } from '../pipeline/alipay/keys.js';
import { signText, verifyText } from '../pipeline/alipay/sign.js';
import { runCli } from './helpers/cli.js';
import { startSandbox } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';

const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const b64 = (buf: Buffer | string) => (typeof buf === 'string' ? buf : buf.toString('base64'));

const privateForms: Record<string, string> = {
  'PEM PKCS#8': pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
  'PEM PKCS#1': pair.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string,
  'one-line PKCS#8 (Java)': b64(pair.privateKey.export({ format: 'der', type: 'pkcs8' })),
  'one-line PKCS#1': b64(pair.privateKey.export({ format: 'der', type: 'pkcs1' })),
  'one-line with line breaks and CRLF': b64(pair.privateKey.export({ format: 'der', type: 'pkcs8' })).replace(/(.{64})/g, '$1\r\n'),
};
const publicForms: Record<string, string> = {
  'PEM SPKI': pair.publicKey.export({ format: 'pem', type: 'spki' }) as string,
  'PEM PKCS#1 (RSA PUBLIC KEY)': pair.publicKey.export({ format: 'pem', type: 'pkcs1' }) as string,
  'one-line SPKI': b64(pair.publicKey.export({ format: 'der', type: 'spki' })),
};

test('every private and public key format loads, from text and from a file, and signs/verifies', () => {
  const dir = tempDir();
  for (const [name, text] of Object.entries(privateForms)) {
    const key = parsePrivateKey(text);
    const fromFile = loadPrivateKey(writeFile(dir, `${name.replace(/\W/g, '_')}.key`, text + '\n'));
    const fromInline = loadPrivateKey(text);
    for (const k of [key, fromFile, fromInline]) {
      const sig = signText('x=1', k);
      assert.ok(verifyText('x=1', sig, pair.publicKey), name);
    }
  }
  for (const [name, text] of Object.entries(publicForms)) {
    const key = parsePublicKey(text);
    const fromFile = loadPublicKey(writeFile(dir, `${name.replace(/\W/g, '_')}.pub`, text));
    const sig = signText('y=2', pair.privateKey);
    assert.ok(verifyText('y=2', sig, key), name);
    assert.ok(verifyText('y=2', sig, fromFile), name);
  }
});

test('a garbage key is a clear SYNC_KEY_INVALID error that never echoes the key', () => {
  const garbage = randomBytes(900).toString('base64');
  for (const load of [() => parsePrivateKey(garbage), () => loadPrivateKey(garbage), () => parsePublicKey(garbage), () => loadPublicKey(garbage)]) {
    assert.throws(load, (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SYNC_KEY_INVALID');
      assert.ok(!err.message.includes(garbage.slice(0, 40)), 'the key must not be in the message');
      return true;
    });
  }
  // a public key where a private key is wanted, and the reverse
  assert.throws(() => parsePrivateKey(publicForms['PEM SPKI']!), { code: 'SYNC_KEY_INVALID' });
  assert.throws(() => parsePublicKey(privateForms['PEM PKCS#8']!), /this is a private key/);
});

test('CLI: a garbage key file or env key stops with exit 2 before anything is sent, and the key is not printed', async () => {
  const sb = await startSandbox();
  const dir = tempDir();
  const csv = writeFile(dir, 'rows.csv', 'category_code,entity_code,longitude,latitude,entity_name,collect_rent,can_borrow,can_borrow_cnt,total_borrow_cnt,upload_time\numbrella,K1,120,30,伞,Y,Y,1,1,2024-05-01 10:00:00\n');
  const secret = randomBytes(1200).toString('base64');
  const keyFile = writeFile(dir, 'broken_private_key.txt', secret.slice(0, 1000) + '\n');
  const base = ['upload', 'borrow-entities', csv, '--gateway', sb.url, '--app-id', sb.gateway.appId, '--alipay-public-key', sb.files.alipayPublicKey, '--ledger', `${dir}/l.db`];

  const fromFile = await runCli([...base, '--private-key', keyFile]);
  assert.equal(fromFile.code, 2, fromFile.stderr);
  assert.match(fromFile.stderr, /--private-key: not a readable RSA private key/);
  assert.ok(!fromFile.stderr.includes(secret.slice(0, 32)) && !fromFile.stdout.includes(secret.slice(0, 32)));

  const fromEnv = await runCli(base, { env: { ALIPAY_SYNC_PRIVATE_KEY: secret } });
  assert.equal(fromEnv.code, 2, fromEnv.stderr);
  assert.ok(!fromEnv.stderr.includes(secret.slice(0, 32)), 'env key must not be echoed');

  const missing = await runCli([...base, '--private-key', './no/such/app_private_key.pem']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no\/such\/app_private_key\.pem/);

  assert.equal(sb.gateway.requests.length, 0, 'nothing may be sent');

  // and the good key from the environment works (one-line body, as Alipay's key tool prints it)
  const { readFileSync } = await import('node:fs');
  const ok = await runCli(base, { env: { ALIPAY_SYNC_PRIVATE_KEY: readFileSync(sb.files.appPrivateKey, 'utf8') } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(sb.gateway.requests.length, 1);
});

test('the bin is executable, so `npx alipay-sync` works in a checkout', async () => {
  const { statSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const { CLI } = await import('./helpers/cli.js');
  assert.ok((statSync(CLI).mode & 0o111) !== 0, `${CLI} must be executable`);
  assert.match(execFileSync(CLI, ['--version']).toString(), /^\d+\.\d+\.\d+/);
});
