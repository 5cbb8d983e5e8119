import { createPublicKey, type KeyObject } from 'node:crypto';

/**
 * The commonest key mistake, found offline: the app's own public key (the pair of --private-key) given as the
 * Alipay public key. Every answer would then fail verification, after the first request went out and left its
 * row with an outcome nobody can prove. `upload` (through resolveSendSettings) and `check` both ask this.
 */
export function isAppOwnPublicKey(privateKey: KeyObject, alipayPublicKey: KeyObject): boolean {
  const appPublic = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return appPublic.equals(alipayPublicKey.export({ type: 'spki', format: 'der' }));
}

export function appOwnKeyMessage(alipayKeyFrom: string, privateKeyFrom: string): string {
  return `${alipayKeyFrom} is your app public key (the pair of ${privateKeyFrom}); give the Alipay public key, shown next to it in Alipay's open platform console`;
}

/** "RSA 2048 bits", for messages (never the key). */
export function describeKey(k: KeyObject): string {
  const bits = k.asymmetricKeyDetails?.modulusLength;
  return `${(k.asymmetricKeyType ?? 'unknown').toUpperCase()}${bits ? ` ${bits} bits` : ''}`;
}
