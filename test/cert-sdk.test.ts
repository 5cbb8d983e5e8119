/**
 * Certificate mode against the official alipay-sdk, both ways: its SNs equal ours (and the sandbox's own reading)
 * on the same files, a bundle with an ECC-signed root included; a request it makes in certificate mode is accepted
 * by our sandbox, and its verifier accepts the sandbox's answers. Plus the client's own checks of certificates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AlipaySdk } from 'alipay-sdk';
import { certSn, pemCertificates, rootCertSn, rfc2253 } from '../pipeline/alipay/cert-sn.js';
import { chainProblem, loadCertificates, parseChain } from '../pipeline/alipay/certs.js';
import { certificateFields } from '../pipeline/alipay/der.js';
import { newAlipayCertificate } from '../pipeline/sandbox/cert-maker.js';
import { sandboxCertSn, sandboxRootSn } from '../pipeline/sandbox/cert-mode.js';
import { inBeijingTime } from './helpers/tz.js';
import { entity } from './helpers/borrow.js';
import { startCertSandbox, testCerts } from './helpers/certs.js';
import { testKeys } from './helpers/sandbox.js';
import { tempDir, writeFile } from './helpers/tmp.js';

const pem = (k: import('node:crypto').KeyObject) => k.export({ format: 'pem', type: 'pkcs1' }) as string;

function sdkFor(paths: { appCert: string; alipayCert: string; rootCert: string }, gateway?: string): AlipaySdk {
  const { keys } = testKeys();
  return new AlipaySdk({
    appId: '2021000000000001', privateKey: pem(keys.appPrivateKey), appCertPath: paths.appCert, alipayPublicCertPath: paths.alipayCert,
    alipayRootCertPath: paths.rootCert, camelcase: false, ...(gateway ? { gateway } : {}),
  });
}

test('app_cert_sn, alipay_cert_sn and alipay_root_cert_sn: ours, the official SDK\'s and the sandbox\'s agree on the same files', () => {
  const { paths } = testCerts();
  const sdk = sdkFor(paths);
  const read = (p: string) => readFileSync(p, 'utf8');
  assert.match(sdk.config.appCertSn, /^[0-9a-f]{32}$/);
  assert.equal(certSn(pemCertificates(read(paths.appCert))[0]!), sdk.config.appCertSn);
  assert.equal(certSn(pemCertificates(read(paths.alipayCert))[0]!), sdk.config.alipayCertSn);
  assert.equal(rootCertSn(read(paths.rootCert)), sdk.config.alipayRootCertSn);
  assert.equal(sdk.config.alipayRootCertSn.split('_').length, 2, 'two RSA roots, joined with _');
  assert.equal(sandboxCertSn(read(paths.appCert)), sdk.config.appCertSn);
  assert.equal(sandboxRootSn(read(paths.rootCert)), sdk.config.alipayRootCertSn);
  // the issuer in Java's RFC 2253 order: the last RDN first
  assert.equal(rfc2253(certificateFields(pemCertificates(read(paths.appCert))[0]!).issuer), 'CN=Sandbox Alipay Class 2 R1,OU=Certification Authority,O=Sandbox Alipay,C=CN');
});

test('the root SN skips an ECC-signed certificate of the bundle, as the SDKs do', () => {
  const { paths } = testCerts();
  const dir = tempDir();
  // node:crypto and node-forge cannot make an ECDSA-signed certificate; the openssl binary can (this test only).
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ec.key'), '-out', join(dir, 'ec.crt'),
    '-days', '30', '-subj', '/C=CN/O=Sandbox Alipay/OU=Certification Authority/CN=Sandbox Alipay Root E1'], { stdio: 'ignore' });
  const rsa = readFileSync(paths.rootCert, 'utf8');
  const blocks = rsa.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
  const bundle = writeFile(dir, 'alipayRootCert.crt', [blocks[0]!, readFileSync(join(dir, 'ec.crt'), 'utf8').trim(), blocks[1]!].join('\n') + '\n');
  const sdk = sdkFor({ ...paths, rootCert: bundle });
  assert.equal(rootCertSn(readFileSync(bundle, 'utf8')), sdk.config.alipayRootCertSn);
  assert.equal(rootCertSn(readFileSync(bundle, 'utf8')), rootCertSn(rsa), 'the ECC certificate adds nothing');
  assert.equal(pemCertificates(readFileSync(bundle, 'utf8')).length, 3);
});

test('a request the official SDK makes in certificate mode is accepted by the sandbox, and the SDK\'s verifier accepts its answer', async () => {
  const sb = await startCertSandbox();
  await inBeijingTime(async () => {
    const sdk = sdkFor(sb.paths, sb.url);
    const bizContent = { product_code: 'w1010100000000002858', ...entity(1, { entity_code: 'SDK-CERT' }) };
    const res = await sdk.exec('zhima.merchant.borrow.entity.upload', { bizContent }, { validateSign: true });
    assert.equal(res.code, '10000');
    assert.equal(sb.gateway.borrowEntities.entities()[0]?.entity_code, 'SDK-CERT');
    const logged = sb.gateway.requests.at(-1)!;
    assert.equal(logged.code, '10000', 'the sandbox checked its app_cert_sn, alipay_root_cert_sn and signature');
  });
});

test('the client refuses certificates that do not belong: another private key, the app certificate as Alipay\'s, a chain outside the root', () => {
  const { paths, made } = testCerts();
  const { keys } = testKeys();
  const label = (n: string) => `--${n}`;
  const files = { appCert: paths.appCert, alipayCert: paths.alipayCert, rootCert: paths.rootCert };
  const ok = loadCertificates(files, keys.appPrivateKey, Date.now(), label);
  assert.equal(ok.configuredSn, sandboxCertSn(readFileSync(paths.alipayCert, 'utf8')));
  assert.throws(() => loadCertificates(files, keys.alipayPrivateKey, Date.now(), label), /--app-cert does not belong to --private-key/);
  assert.throws(() => loadCertificates({ ...files, alipayCert: paths.appCert }, keys.appPrivateKey, Date.now(), label), /is your app certificate/);
  assert.throws(() => loadCertificates({ ...files, rootCert: paths.appCert }, keys.appPrivateKey, Date.now(), label), /not issued under the Alipay root/);
  const roots = parseChain(made.set.rootPem) as import('node:crypto').X509Certificate[];
  const rogue = parseChain(newAlipayCertificate(made.set.rogue).chainPem) as import('node:crypto').X509Certificate[];
  assert.match(chainProblem(rogue, roots, Date.now()) ?? '', /not issued under the Alipay root/);
  const next = parseChain(newAlipayCertificate(made.set.intermediate, { days: 1 }).chainPem) as import('node:crypto').X509Certificate[];
  assert.equal(chainProblem(next, roots, Date.now()), null);
  assert.match(chainProblem(next, roots, Date.now() + 5 * 86_400_000) ?? '', /expired/);
  assert.match(chainProblem([next[0]!], roots, Date.now()) ?? '', /not issued under/, 'a leaf without its issuer does not reach the root');
});
