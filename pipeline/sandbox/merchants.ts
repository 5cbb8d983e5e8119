import { createHash } from 'node:crypto';

/**
 * Merchants as the gateway knows them: an app_auth_token stands for the merchant that authorised the app, whom
 * Alipay names by a user id (2088 and 12 digits). The sandbox makes that id from the token (its logs and the
 * state it holds show the id, never a token).
 */
export function merchantUserId(token: string): string {
  const digits = BigInt('0x' + createHash('sha256').update(token).digest('hex').slice(0, 15)) % 1_000_000_000_000n;
  return '2088' + digits.toString().padStart(12, '0');
}

/** The merchant of a request: its token's user id, or '' when it carries no app_auth_token (the app's own call). */
export function merchantOf(params: Readonly<Record<string, string>>): string {
  return params.app_auth_token ? merchantUserId(params.app_auth_token) : '';
}
