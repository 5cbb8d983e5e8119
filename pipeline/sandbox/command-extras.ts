/**
 * `sandbox --cert-mode` and `--content-encryption`: their files in --keys-dir (made when absent, reused after;
 * written only once the port is bound, like the keys), the gateway options they set, the flags to print.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SyncError } from '../errors.js';
import { certFilesIn, makeCertFiles, readCertFiles, writeCertFiles } from './cert-files.js';
import { SandboxCertMode } from './cert-mode.js';
import { newContentKey } from './content-crypto.js';
import type { KeyPairs } from './keys.js';
import { DEFAULT_SANDBOX_APP_ID, type SandboxOptions } from './options.js';

export interface Extras {
  options: Partial<SandboxOptions>;
  /** the flags alipay-sync needs, one a line */
  flags: string[];
  notes: string[];
  /** write the files made now (absent: all were there) */
  write?: () => void;
}

export function prepareExtras(keysDir: string, keys: KeyPairs, a: { certMode?: boolean; rotateAfter?: number; contentEncryption?: boolean; appId?: string }): Extras {
  const out: Extras = { options: {}, flags: [], notes: [] };
  const writes: (() => void)[] = [];
  if (a.certMode) {
    const appId = a.appId ?? DEFAULT_SANDBOX_APP_ID;
    const paths = certFilesIn(keysDir, appId);
    let files;
    try {
      files = readCertFiles(keysDir, keys.alipayPrivateKey, appId);
    } catch (err) {
      throw new SyncError('SYNC_KEY_INVALID', `--keys-dir ${keysDir}: its certificate files cannot be read (${(err as Error).message}); remove them or name another folder`);
    }
    if (!files) {
      if (Object.values(paths).some((p) => existsSync(p))) {
        throw new SyncError('SYNC_CONFIG_INVALID', `--keys-dir ${keysDir} holds some of the certificate files but not all four: remove them, or name another folder`);
      }
      const made = (files = makeCertFiles(keys.appPrivateKey, keys.alipayPrivateKey, appId));
      writes.push(() => writeCertFiles(keysDir, made, appId));
    }
    const certMode = new SandboxCertMode(files);
    out.options.certMode = certMode;
    if (a.rotateAfter) out.options.rotateAfter = a.rotateAfter;
    out.flags.push(`    --app-cert ${paths.appCert}`, `    --alipay-cert ${paths.alipayCert}`, `    --alipay-root-cert ${paths.rootCert}`);
    out.notes.push(
      `  certificate mode: app_cert_sn ${certMode.appCertSn}, Alipay certificate ${certMode.signer.sn}`,
      `    rotates ${a.rotateAfter ? `after ${a.rotateAfter} requests` : 'on POST /_sandbox/rotate {"to":"next"|"untrusted"}'}`,
    );
  } else {
    out.flags.push(`    --alipay-public-key ${join(keysDir, 'alipay_public_key.txt')}`);
  }
  if (a.contentEncryption) {
    const file = join(keysDir, 'aes_key.txt');
    let key: Buffer;
    if (existsSync(file)) {
      key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
      if (![16, 24, 32].includes(key.length)) throw new SyncError('SYNC_KEY_INVALID', `--keys-dir ${keysDir}: aes_key.txt is not an AES key; remove it or name another folder`);
    } else {
      const made = (key = newContentKey());
      writes.push(() => writeFileSync(file, made.toString('base64') + '\n', { mode: 0o600, flag: 'wx' }));
    }
    out.options.contentKey = key;
    out.flags.push(`    --encrypt-key ${file}`);
    out.notes.push('  content encryption: encrypted requests are answered encrypted (--behave requireEncryption, encryptAllAnswers for more)');
  }
  if (writes.length) out.write = () => writes.forEach((w) => w());
  return out;
}
