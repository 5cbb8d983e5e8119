import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { SyncError } from '../errors.js';

/**
 * Alipay's key tool prints one-line base64 bodies without PEM armour: the app private key as PKCS#8 ("Java")
 * or PKCS#1 (other languages), the Alipay public key as SPKI. PEM files are just as common. We accept all of
 * them, parse once, and keep a KeyObject so that signing never re-parses a key.
 *
 * Errors never contain key material: a key is a secret, and so is a string that failed to parse as one.
 */

const PEM = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/;
const BASE64_BODY = /^[A-Za-z0-9+/=\s]+$/;

function der(text: string): Buffer | null {
  const body = text.replace(/\s+/g, '');
  if (body.length < 64 || !BASE64_BODY.test(body)) return null;
  return Buffer.from(body, 'base64');
}

export function parsePrivateKey(text: string, label = 'private key'): KeyObject {
  const trimmed = text.trim();
  const pem = PEM.exec(trimmed);
  try {
    if (pem) {
      if (pem[1] === 'ENCRYPTED PRIVATE KEY') {
        throw new SyncError('SYNC_KEY_INVALID', `${label}: encrypted private keys are not supported; export it without a passphrase`);
      }
      try {
        return createPrivateKey({ key: trimmed, format: 'pem' });
      } catch {
        // A PEM flattened onto one line (an env var, a pasted flag value): its body is still the DER.
        const flat = der(pem[2]!);
        if (flat) return createPrivateKey({ key: flat, format: 'der', type: pem[1] === 'RSA PRIVATE KEY' ? 'pkcs1' : 'pkcs8' });
        throw new Error('unreadable PEM');
      }
    }
    const body = der(trimmed);
    if (body) {
      for (const type of ['pkcs8', 'pkcs1'] as const) {
        try {
          return createPrivateKey({ key: body, format: 'der', type });
        } catch {
          // try the next encoding: the one-line bodies do not say which they are
        }
      }
    }
  } catch (err) {
    if (err instanceof SyncError) throw err;
  }
  throw new SyncError(
    'SYNC_KEY_INVALID',
    `${label}: not a readable RSA private key (expected PEM, or the one-line base64 PKCS#8/PKCS#1 body that Alipay's key tool prints)`,
  );
}

export function parsePublicKey(text: string, label = 'public key'): KeyObject {
  const trimmed = text.trim();
  try {
    if (PEM.test(trimmed)) {
      if (trimmed.includes('PRIVATE KEY')) {
        throw new SyncError('SYNC_KEY_INVALID', `${label}: this is a private key; give the public key here`);
      }
      // Also accepts "BEGIN RSA PUBLIC KEY" (PKCS#1) and certificates, which Node parses as well.
      return createPublicKey({ key: trimmed, format: 'pem' });
    }
    const body = der(trimmed);
    if (body) {
      for (const type of ['spki', 'pkcs1'] as const) {
        try {
          return createPublicKey({ key: body, format: 'der', type });
        } catch {
          // next
        }
      }
    }
  } catch (err) {
    if (err instanceof SyncError) throw err;
  }
  throw new SyncError(
    'SYNC_KEY_INVALID',
    `${label}: not a readable RSA public key (expected PEM, or the one-line base64 SPKI body that Alipay's key tool prints)`,
  );
}

/**
 * A key setting is a path to a key file, or the key itself (handy in an environment variable). We never echo
 * the value: we only name the setting, and the path when it plainly is a path.
 */
export function readKeySetting(value: string, label: string): string {
  const v = value.trim();
  if (v.length === 0) throw new SyncError('SYNC_KEY_INVALID', `${label}: empty`);
  if (v.includes('-----BEGIN')) return v;
  if (v.length < 1024 && existsSync(v)) {
    try {
      return readFileSync(v, 'utf8');
    } catch (err) {
      throw new SyncError('SYNC_KEY_INVALID', `${label}: cannot read key file ${v}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const looksLikeKey = v.length >= 200 && BASE64_BODY.test(v);
  if (looksLikeKey) return v;
  // Name the value only when it plainly is a path: a fragment of a key must never reach a log.
  const plainPath = /\.(pem|key|txt|crt|cer)$/i.test(v) || /^(\.{0,2}\/|~|[A-Za-z]:\\)/.test(v);
  const shown = plainPath && !/[A-Za-z0-9+/]{40,}/.test(v) ? ` ${v}` : ' (value not shown)';
  throw new SyncError('SYNC_KEY_INVALID', `${label}: not an existing key file, nor a key${shown}`);
}

export function loadPrivateKey(value: string, label = '--private-key'): KeyObject {
  return parsePrivateKey(readKeySetting(value, label), label);
}

export function loadPublicKey(value: string, label = '--alipay-public-key'): KeyObject {
  return parsePublicKey(readKeySetting(value, label), label);
}
