import type { Behaviours } from '../behaviours.js';

/** What a sandbox method handler returns: the fields of the `*_response` node (code 10000 or a 40004 failure). */
export type MethodAnswer = Record<string, unknown> & { code: string; msg: string };

export interface MethodContext {
  appId: string;
  /** the merchant the call is made for (its user id), '' for the app's own: what a method stores is per merchant */
  merchant?: string;
  /** parsed biz_content */
  biz: Record<string, unknown>;
  /** raw request params (common params + biz_content) */
  params: Record<string, string>;
  now: number;
  /** the gateway's switched-on behaviours (none when absent) */
  behaviours?: Behaviours;
}

export interface SandboxMethod {
  method: string;
  /** a stable identity of the business object, for request logs and per-key counting */
  keyOf(biz: Record<string, unknown>): string | undefined;
  handle(ctx: MethodContext): MethodAnswer;
  /** its answers come unsigned and never encrypted (alipay.open.app.alipaycert.download: the certificate's chain is its proof) */
  readonly unsigned?: boolean;
  /** everything the method holds, as plain JSON (for tests and the admin endpoint) */
  snapshot(): unknown;
  reset(): void;
}

export function success(fields: Record<string, unknown> = {}): MethodAnswer {
  return { code: '10000', msg: 'Success', ...fields };
}

export function businessError(subCode: string, subMsg: string): MethodAnswer {
  return { code: '40004', msg: 'Business Failed', sub_code: subCode, sub_msg: subMsg };
}
