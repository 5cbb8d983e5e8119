import { writeCertFiles, makeCertFiles, type CertFilePaths } from '../../pipeline/sandbox/cert-files.js';
import { SandboxCertMode } from '../../pipeline/sandbox/cert-mode.js';
import type { SandboxCertFiles } from '../../pipeline/sandbox/cert-mode.js';
import { DEFAULT_SANDBOX_APP_ID } from '../../pipeline/sandbox/options.js';
import type { SandboxOptions } from '../../pipeline/sandbox/server.js';
import { startSandbox, testKeys, type TestSandbox } from './sandbox.js';
import { tempDir } from './tmp.js';

let shared: { made: SandboxCertFiles; paths: CertFilePaths } | null = null;

/** Certificates for the test keys (made once per test file), written as the Alipay console names them. */
export function testCerts(): { made: SandboxCertFiles; paths: CertFilePaths } {
  if (!shared) {
    const { keys } = testKeys();
    const made = makeCertFiles(keys.appPrivateKey, keys.alipayPrivateKey, DEFAULT_SANDBOX_APP_ID);
    shared = { made, paths: writeCertFiles(tempDir('alipay-sync-certs-'), made) };
  }
  return shared;
}

export interface CertSandbox extends TestSandbox {
  certMode: SandboxCertMode;
  paths: CertFilePaths;
}

/** A sandbox in certificate mode (its own state: rotations do not leak between sandboxes); flags point the CLI at it. */
export async function startCertSandbox(options: Partial<SandboxOptions> = {}): Promise<CertSandbox> {
  const { made, paths } = testCerts();
  const certMode = new SandboxCertMode(made);
  const sb = await startSandbox({ certMode, ...options });
  const flags = sb.flags.filter((_, i, a) => a[i] !== '--alipay-public-key' && a[i - 1] !== '--alipay-public-key');
  flags.push('--app-cert', paths.appCert, '--alipay-cert', paths.alipayCert, '--alipay-root-cert', paths.rootCert);
  return { ...sb, flags, certMode, paths };
}
