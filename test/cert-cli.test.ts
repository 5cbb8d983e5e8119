/**
 * Certificate mode end to end: the CLI as a user runs it against the sandbox in certificate mode — an upload, Alipay
 * rotating its certificate mid-run (fetched once, kept in the ledger, not fetched again), a certificate that does
 * not chain (run-fatal, rows left pending), and what is refused before anything is sent (exit 2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { entities, toCsv } from './helpers/borrow.js';
import { lastJson, runCli } from './helpers/cli.js';
import { startCertSandbox, type CertSandbox } from './helpers/certs.js';
import { meta } from './helpers/ledger.js';
import { tempDir, writeFile } from './helpers/tmp.js';

const METHOD = 'zhima.merchant.borrow.entity.upload';
const DOWNLOAD = 'alipay.open.app.alipaycert.download';

function upload(sb: CertSandbox, dir: string, csv: string, extra: string[] = [], env: Record<string, string> = {}) {
  return runCli(['upload', 'borrow-entities', csv, ...sb.flags, '--ledger', join(dir, 'l.db'), '--json', '--no-progress', '--concurrency', '2', '--backoff-ms', '5', ...extra], { env });
}

test('an upload in certificate mode; Alipay rotates its certificate mid-run: fetched once, checked, kept in the ledger, not fetched again', async () => {
  const sb = await startCertSandbox({ rotateAfter: 3 });
  const dir = tempDir();
  const first = sb.certMode.signer.sn;
  const r = await upload(sb, dir, writeFile(dir, 'a.csv', toCsv(entities(8))));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lastJson(r.stdout).uploaded, 8);
  const rotated = sb.certMode.signer.sn;
  assert.notEqual(rotated, first);
  assert.deepEqual(sb.gateway.requests.filter((q) => q.method === DOWNLOAD).map((q) => q.key), [rotated], 'one download, of the new SN');
  assert.equal(sb.gateway.requests.filter((q) => q.method === METHOD && q.code === '10000').length, 8);
  assert.match(r.stderr, new RegExp(`Alipay now signs with certificate ${rotated}`));
  const m = meta(join(dir, 'l.db'));
  assert.match(m[`alipay_cert:${rotated}`] ?? '', /BEGIN CERTIFICATE/, 'kept in the ledger');
  const expiries = JSON.parse(m.certificate_expiries!) as { role: string; sn: string }[];
  assert.deepEqual(expiries.map((e) => e.role).sort(), ['alipay', 'alipay', 'app']);
  // The next run starts with the kept certificate: no download, though answers name the rotated one.
  const before = sb.gateway.requests.length;
  const again = await upload(sb, dir, writeFile(dir, 'b.csv', toCsv(entities(3, 100))));
  assert.equal(again.code, 0, again.stderr);
  assert.equal(sb.gateway.requests.slice(before).filter((q) => q.method === DOWNLOAD).length, 0);
  // status shows when the certificates end
  const st = await runCli(['status', '--ledger', join(dir, 'l.db')]);
  assert.equal(st.code, 0, st.stderr);
  // (piped: TSV, one row per certificate: name, SN, when it ends, days left)
  assert.match(st.stdout, /\napp certificate\t\S+\t\d{4}-\d\d-\d\dT[^\t]+\t\d+\n/);
  assert.match(st.stdout, new RegExp(`\nAlipay certificate\t${rotated}\t`));
});

test('a certificate that does not chain to the root is run-fatal: exit 3, the rows left pending, nothing kept', async () => {
  const sb = await startCertSandbox();
  const dir = tempDir();
  sb.certMode.rotate('untrusted');
  const r = await upload(sb, dir, writeFile(dir, 'a.csv', toCsv(entities(4))));
  assert.equal(r.code, 3, r.stderr);
  const s = lastJson(r.stdout);
  assert.equal(s.uploaded, 0);
  assert.equal(s.failed, 0);
  assert.equal(s.pending, 4);
  assert.match(r.stderr, /not trusted: it is not issued under the Alipay root certificate/);
  assert.deepEqual(Object.keys(meta(join(dir, 'l.db'))).filter((k) => k.startsWith('alipay_cert:')), []);
});

test('refused before anything is sent (exit 2): a private key that is not the app certificate\'s, both modes at once, a certificate missing', async () => {
  const sb = await startCertSandbox();
  const dir = tempDir();
  const csv = writeFile(dir, 'a.csv', toCsv(entities(2)));
  const other = writeFile(dir, 'other.pem', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  const wrongKey = await upload(sb, dir, csv, ['--private-key', other]);
  assert.equal(wrongKey.code, 2, wrongKey.stderr);
  assert.match(wrongKey.stderr, /--app-cert does not belong to --private-key/);
  const both = await upload(sb, dir, csv, [], { ALIPAY_SYNC_ALIPAY_PUBLIC_KEY: sb.files.alipayPublicKey });
  assert.equal(both.code, 2, both.stderr);
  assert.match(both.stderr, /ALIPAY_SYNC_ALIPAY_PUBLIC_KEY.* and --app-cert, --alipay-cert, --alipay-root-cert are two signing modes/);
  // the certificates from the environment, one left out
  const base = sb.flags.slice(0, sb.flags.indexOf('--app-cert'));
  const missing = await runCli(['upload', 'borrow-entities', csv, ...base, '--ledger', join(dir, 'm.db')], {
    env: { ALIPAY_SYNC_APP_CERT: sb.paths.appCert, ALIPAY_SYNC_ALIPAY_CERT: sb.paths.alipayCert },
  });
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /certificate mode needs --alipay-root-cert too \(given: ALIPAY_SYNC_APP_CERT/);
  assert.equal(sb.gateway.requests.length, 0, 'nothing was sent');
});
