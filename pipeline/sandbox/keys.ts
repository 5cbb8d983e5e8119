import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KeyPairs {
  appPrivateKey: KeyObject;
  appPublicKey: KeyObject;
  alipayPrivateKey: KeyObject;
  alipayPublicKey: KeyObject;
}

export interface KeyFiles {
  /** give to --private-key */
  appPrivateKey: string;
  /** give to `sandbox --app-public-key` */
  appPublicKey: string;
  /** give to --alipay-public-key */
  alipayPublicKey: string;
  /** give to `sandbox --alipay-private-key` */
  alipayPrivateKey: string;
}

/** Two fresh RSA-2048 pairs: the app's (signs requests) and "Alipay's" (signs answers). */
export function generateKeyPairs(): KeyPairs {
  const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { appPrivateKey: app.privateKey, appPublicKey: app.publicKey, alipayPrivateKey: alipay.privateKey, alipayPublicKey: alipay.publicKey };
}

/** The one-line base64 body Alipay's key tool prints (no PEM armour). */
export function oneLine(key: KeyObject): string {
  return key.type === 'private'
    ? key.export({ format: 'der', type: 'pkcs8' }).toString('base64')
    : key.export({ format: 'der', type: 'spki' }).toString('base64');
}

/**
 * Write the pairs the way merchants hold them: the app keys as Alipay's key tool prints them (one-line bodies),
 * the sandbox's own "Alipay" private key as PEM. Private key files are readable by the owner only.
 */
export function writeKeyFiles(dir: string, keys: KeyPairs): KeyFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files: KeyFiles = {
    appPrivateKey: join(dir, 'app_private_key.txt'),
    appPublicKey: join(dir, 'app_public_key.txt'),
    alipayPublicKey: join(dir, 'alipay_public_key.txt'),
    alipayPrivateKey: join(dir, 'alipay_private_key.pem'),
  };
  writeFileSync(files.appPrivateKey, oneLine(keys.appPrivateKey) + '\n', { mode: 0o600 });
  writeFileSync(files.appPublicKey, oneLine(keys.appPublicKey) + '\n');
  writeFileSync(files.alipayPublicKey, oneLine(keys.alipayPublicKey) + '\n');
  writeFileSync(files.alipayPrivateKey, keys.alipayPrivateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
  return files;
}
