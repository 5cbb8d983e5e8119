/** How a SandboxGateway is set up, and what it logs of each request. */
import type { KeyObject } from 'node:crypto';
import type { Behaviours } from './behaviours.js';
import type { SandboxCertMode } from './cert-mode.js';
import type { FaultKind, FaultOptions } from './faults.js';
import type { SeedAgreement } from './methods/agreements.js';

export interface SandboxOptions {
  host?: string;
  port?: number;
  /** the app this gateway knows; requests from any other app_id get isv.invalid-app-id */
  appId?: string;
  /** the app's public key: request signatures are checked with it */
  appPublicKey: KeyObject;
  /** "Alipay's" private key: answers are signed with it */
  alipayPrivateKey: KeyObject;
  /** accepted app_auth_tokens (merchants that authorised the app); a request carrying any other token gets 20001 */
  appAuthTokens?: string[];
  /** app_auth_tokens that have expired: a request carrying one gets 20001 aop.app-auth-token-time-out */
  expiredAppAuthTokens?: string[];
  /** how far a request's timestamp may be from the gateway's Beijing clock */
  timestampToleranceMs?: number;
  /** the user agreements it holds (TEMP / NORMAL / STOP), for sign.effect and batch.query */
  agreements?: SeedAgreement[];
  /** how many times a notification is sent until the receiver says `success` (Alipay: about 8 over 25 h) */
  notifyAttempts?: number;
  /** requests per second the app may make (sliding one-second window); beyond it: 40005 isv.app-call-limited */
  quota?: number;
  /** requests per Beijing day the app may make; beyond: 40005 saying the day's quota is spent (see quota.ts) */
  dailyQuota?: number;
  /** the same per merchant (per app_auth_token): per second, per day */
  merchantQuota?: number;
  merchantDailyQuota?: number;
  /** methods this app has no permission for: they get 40006 */
  forbiddenMethods?: string[];
  /** when set, answers carry alipay_cert_sn like certificate mode (signed with alipayPrivateKey all the same) */
  certSn?: string;
  /**
   * certificate mode (公钥证书): requests must name the app certificate and the root bundle (app_cert_sn,
   * alipay_root_cert_sn); answers are signed with its current Alipay certificate and name it (cert-mode.ts)
   */
  certMode?: SandboxCertMode;
  /** certificate mode: rotate the Alipay certificate once, after this many requests */
  rotateAfter?: number;
  /** content encryption (接口内容加密): the app's AES key; encrypted requests are decrypted and answered encrypted */
  contentKey?: Buffer;
  faults?: FaultOptions;
  /** behaviours of the real gateway that are off unless switched on here (see behaviours.ts) */
  behaviours?: Behaviours;
  /** text in a borrow entity's name/address that triggers INFOSEC_VERIFY_FAILED */
  sensitiveWord?: string;
  clock?: () => number;
}

export interface LoggedRequest {
  /** arrival, ms since epoch (the sandbox's clock) */
  at: number;
  method: string;
  /** the merchant it was made for (its user id: merchants.ts), absent for the app's own calls */
  merchant?: string;
  key?: string;
  code: string;
  subCode?: string;
  fault?: FaultKind;
  /** the trace_id header of the answer (none when a proxy answered, or the connection was dropped) */
  traceId?: string;
  /** the request's biz_content came encrypted (encrypt_type=AES) */
  encrypted?: boolean;
  /** the answer's node was encrypted */
  answeredEncrypted?: boolean;
}

export const DEFAULT_SANDBOX_APP_ID = '2021000000000001';
