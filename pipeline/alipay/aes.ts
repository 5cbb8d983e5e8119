/**
 * Content encryption (接口内容加密方式, `encrypt_type=AES`) as the official SDKs do it: AES in CBC mode with PKCS#5/7
 * padding and an all-zero IV, the key being the base64 text the Alipay console shows (128 bits; 192 and 256 are
 * accepted too), the ciphertext sent and received as standard base64. The request's biz_content is encrypted and
 * then signed; an encrypted answer's node is a JSON string, verified as it stands and then decrypted.
 *
 * The key is a secret like the private key: errors never repeat it, nor a fragment of it.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { SyncError } from '../errors.js';

const ZERO_IV = Buffer.alloc(16);

export type AesKey = Buffer & { readonly __aesKey: true };

function cipherName(key: Buffer): string {
  return `aes-${key.length * 8}-cbc`;
}

/** The AES key of `--encrypt-key`: the base64 text itself, or a file holding it. Exit 2 on anything else. */
export function loadAesKey(value: string, label = '--encrypt-key'): AesKey {
  let text = value.trim();
  if (text.length < 1024 && !/^[A-Za-z0-9+/]+={0,2}$/.test(text) && existsSync(text)) {
    try {
      text = readFileSync(text, 'utf8').trim();
    } catch (err) {
      throw new SyncError('SYNC_KEY_INVALID', `${label}: cannot read the key file ${value.trim()}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  if (![16, 24, 32].includes(key.length) || key.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) {
    throw new SyncError('SYNC_KEY_INVALID', `${label}: not an AES key (expected the base64 text of 16, 24 or 32 bytes that the Alipay console shows under 接口内容加密方式, e.g. 24 characters ending in ==; value not shown)`);
  }
  return key as AesKey;
}

export function aesEncrypt(plain: string, key: AesKey): string {
  const c = createCipheriv(cipherName(key), key, ZERO_IV);
  return Buffer.concat([c.update(plain, 'utf8'), c.final()]).toString('base64');
}

/** The plain text of a base64 ciphertext; throws when the key does not fit (bad padding) or the text is not UTF-8. */
export function aesDecrypt(cipherText: string, key: AesKey): string {
  const d = createDecipheriv(cipherName(key), key, ZERO_IV);
  const bytes = Buffer.concat([d.update(Buffer.from(cipherText, 'base64')), d.final()]);
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}
