import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePrivateKey, parsePublicKey } from '../alipay/keys.js';

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

export function keyFilesIn(dir: string): KeyFiles {
  return {
    appPrivateKey: join(dir, 'app_private_key.txt'),
    appPublicKey: join(dir, 'app_public_key.txt'),
    alipayPublicKey: join(dir, 'alipay_public_key.txt'),
    alipayPrivateKey: join(dir, 'alipay_private_key.pem'),
  };
}

/**
 * Write the pairs the way merchants hold them: the app keys as Alipay's key tool prints them (one-line bodies),
 * the sandbox's own "Alipay" private key as PEM. Every file is readable by the owner only (0600, in a 0700
 * folder); a file that exists is never overwritten ('wx'), so a second sandbox cannot clobber a running one's keys.
 */
export function writeKeyFiles(dir: string, keys: KeyPairs): KeyFiles {
  // The folder itself may be made, not its parents: a mistyped path is an error, not a new tree.
  if (!existsSync(dir)) mkdirSync(dir, { mode: 0o700 });
  const files = keyFilesIn(dir);
  const opts = { mode: 0o600, flag: 'wx' } as const;
  writeFileSync(files.appPrivateKey, oneLine(keys.appPrivateKey) + '\n', opts);
  writeFileSync(files.appPublicKey, oneLine(keys.appPublicKey) + '\n', opts);
  writeFileSync(files.alipayPublicKey, oneLine(keys.alipayPublicKey) + '\n', opts);
  writeFileSync(files.alipayPrivateKey, keys.alipayPrivateKey.export({ format: 'pem', type: 'pkcs8' }) as string, opts);
  return files;
}

/** The four key files of a folder written by writeKeyFiles, or null when it does not hold all four. */
export function readKeyFiles(dir: string): { keys: KeyPairs; files: KeyFiles } | null {
  const files = keyFilesIn(dir);
  if (!Object.values(files).every((f) => existsSync(f))) return null;
  const read = (f: string) => readFileSync(f, 'utf8');
  return {
    files,
    keys: {
      // the same parsing a user's key files go through (PEM or the one-line bodies)
      appPrivateKey: parsePrivateKey(read(files.appPrivateKey), files.appPrivateKey),
      appPublicKey: parsePublicKey(read(files.appPublicKey), files.appPublicKey),
      alipayPrivateKey: parsePrivateKey(read(files.alipayPrivateKey), files.alipayPrivateKey),
      alipayPublicKey: parsePublicKey(read(files.alipayPublicKey), files.alipayPublicKey),
    },
  };
}
