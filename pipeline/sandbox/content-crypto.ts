/**
 * The gateway's content encryption (接口内容加密), from its own reading of Alipay's page on it: the app's AES key
 * (base64 in the console), AES/CBC/PKCS5Padding, an IV of sixteen zero bytes, base64 on the wire. A request with
 * encrypt_type=AES carries biz_content so encrypted; its answer node is the encrypted JSON text, as a string.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV = new Uint8Array(16);
const MODE: Record<number, string> = { 16: 'aes-128-cbc', 24: 'aes-192-cbc', 32: 'aes-256-cbc' };

/** A fresh 128-bit key, as the console makes one. */
export function newContentKey(): Buffer {
  return randomBytes(16);
}

export function sealContent(json: string, key: Buffer): string {
  const cipher = createCipheriv(MODE[key.length]!, key, IV);
  return cipher.update(json, 'utf8', 'base64') + cipher.final('base64');
}

/** The JSON text inside, or null when it does not open with this key (bad padding, not UTF-8). */
export function openContent(b64: string, key: Buffer): string | null {
  try {
    const decipher = createDecipheriv(MODE[key.length]!, key, IV);
    const out = Buffer.concat([decipher.update(Buffer.from(b64, 'base64')), decipher.final()]);
    const text = out.toString('utf8');
    return Buffer.from(text, 'utf8').equals(out) ? text : null;
  } catch {
    return null;
  }
}
