/**
 * One classifier decides what every gateway outcome means for the run (alipay-protocol.md, "Gateway codes"):
 *   success   – the row is done
 *   transient – outcome unknown or gateway busy: retry with backoff (uploads are idempotent by key+snapshot)
 *   row-fatal – this row is refused for a business reason: record it, never retry it within the run
 *   run-fatal – our credentials, signature or the answer's signature are wrong: stop, leave the rest pending
 */
export type OutcomeKind = 'success' | 'transient' | 'row-fatal' | 'run-fatal';

export interface Outcome {
  kind: OutcomeKind;
  /** gateway code (10000, 20000, 40004…), or a local code: HTTP_502, NETWORK, TIMEOUT, BAD_ANSWER, UNVERIFIED */
  code: string;
  subCode?: string;
  subMsg?: string;
  msg?: string;
  httpStatus?: number;
  /** a short human explanation, safe to print (never contains request data) */
  reason: string;
  /** 40005 or HTTP 429: the rate limiter should back off */
  slowDown?: boolean;
  /** the verified answer's fields (present when the answer was signed and verified, or unsigned and not a success) */
  fields?: Record<string, unknown>;
  verified: boolean;
}

/** Per-method knowledge that the common protocol cannot know. */
export interface MethodPolicy {
  /** business sub_codes (after any `xxx.` prefix) that mean "try again" */
  transientSubCodes: readonly string[];
  /** extra success test on a verified 10000 answer, e.g. `biz_success`; return a reason when it is a row failure */
  rowFailure?: (fields: Record<string, unknown>) => string | null;
  /** human meanings of business sub_codes, shown in status and errors */
  meanings?: Readonly<Record<string, string>>;
}

export const DEFAULT_POLICY: MethodPolicy = { transientSubCodes: ['SYSTEM_ERROR'] };

/** Alipay prefixes business codes inconsistently (`ACQ.SYSTEM_ERROR`, `isv.SYSTEM_ERROR`): compare the tail. */
export function bareSubCode(subCode: string): string {
  const dot = subCode.lastIndexOf('.');
  return dot >= 0 ? subCode.slice(dot + 1) : subCode;
}

const CONFIG_HINT: Record<string, string> = {
  '20001': 'the app_auth_token is invalid or expired: check --app-auth-token',
  '40001': 'a required common parameter is missing (a bug in alipay-sync: please report it)',
  '40002': 'the gateway refused a common parameter: check --app-id, the key pair, --sign-type and the host clock',
  '40006': 'the app lacks permission for this method: sign the product / grant the API in the Alipay console',
};

/** Classify a decoded (and, where signed, verified) answer. */
export function classifyAnswer(
  fields: Record<string, unknown>,
  verified: boolean,
  policy: MethodPolicy = DEFAULT_POLICY,
): Outcome {
  const code = String(fields.code ?? '');
  const subCode = fields.sub_code === undefined ? undefined : String(fields.sub_code);
  const subMsg = fields.sub_msg === undefined ? undefined : String(fields.sub_msg);
  const msg = fields.msg === undefined ? undefined : String(fields.msg);
  const base = { code, subCode, subMsg, msg, fields, verified };
  const tail = subCode ? bareSubCode(subCode) : '';
  switch (code) {
    case '10000': {
      if (!verified) {
        return { ...base, kind: 'run-fatal', code: 'UNVERIFIED', reason: 'a success answer came without a valid signature: its outcome is unknown' };
      }
      const failure = policy.rowFailure?.(fields) ?? null;
      if (failure) return { ...base, kind: 'row-fatal', reason: failure };
      return { ...base, kind: 'success', reason: 'success' };
    }
    case '20000':
      return { ...base, kind: 'transient', reason: `gateway unavailable (${subCode ?? 'no sub_code'}): outcome unknown, will retry` };
    case '40005':
      return { ...base, kind: 'transient', slowDown: true, reason: `call limit exceeded (${subCode ?? 'no sub_code'}): slowing down` };
    case '20001':
    case '40001':
    case '40002':
    case '40006':
      return { ...base, kind: 'run-fatal', reason: `${subCode ?? code}: ${CONFIG_HINT[code]}` };
    case '40004': {
      if (policy.transientSubCodes.includes(tail)) {
        return { ...base, kind: 'transient', reason: `${subCode}: business system busy, will retry` };
      }
      // The meaning says what to do; the gateway's sub_msg says which value (the pipeline masks personal data in it).
      const meaning = policy.meanings?.[tail];
      const detail = meaning && subMsg ? `${meaning} (${subMsg})` : (meaning ?? subMsg ?? msg ?? 'business failure');
      return { ...base, kind: 'row-fatal', reason: `${subCode ?? '40004'}: ${detail}` };
    }
    default:
      // An answer we do not know how to read is not a success; fail the row, do not loop on it.
      return { ...base, kind: 'row-fatal', reason: `unexpected gateway code ${code || '(none)'}${subCode ? ' ' + subCode : ''}` };
  }
}

export function classifyHttpStatus(status: number): Outcome {
  if (status >= 500) {
    return { kind: 'transient', code: `HTTP_${status}`, httpStatus: status, verified: false, reason: `HTTP ${status} from the gateway: outcome unknown, will retry` };
  }
  if (status === 429) {
    return { kind: 'transient', code: 'HTTP_429', httpStatus: status, slowDown: true, verified: false, reason: 'HTTP 429 from the gateway: slowing down' };
  }
  return { kind: 'run-fatal', code: `HTTP_${status}`, httpStatus: status, verified: false, reason: `HTTP ${status} from the gateway: check --gateway (it should end in /gateway.do)` };
}

export function networkOutcome(err: unknown, timedOut: boolean): Outcome {
  if (timedOut) {
    return { kind: 'transient', code: 'TIMEOUT', verified: false, reason: 'no answer within the request timeout: outcome unknown, will retry' };
  }
  const code = (err as { code?: string } | null)?.code ?? 'ERROR';
  return { kind: 'transient', code: 'NETWORK', subCode: code, verified: false, reason: `network error ${code}: outcome unknown, will retry` };
}
