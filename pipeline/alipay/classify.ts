/**
 * One classifier decides what every gateway outcome means for the run (alipay-protocol.md, "Gateway codes"):
 *   success   – the row is done
 *   transient – outcome unknown or gateway busy: retry with backoff (uploads are idempotent by key+snapshot)
 *   row-fatal – this row is refused for a reason in its own content: record it, never retry it within the run
 *   run-fatal – our credentials, signature, configuration or the answer's signature are wrong: stop, leave the rest pending
 *   reconcile – the answer says the row's real state on Alipay is unclear (e.g. a sign.effect that may already have
 *               taken effect): read the row's state back with a query before recording anything
 */
export type OutcomeKind = 'success' | 'transient' | 'row-fatal' | 'run-fatal' | 'reconcile';

export interface Outcome {
  kind: OutcomeKind;
  /** gateway code (10000, 20000, 40004…), or a local code: HTTP_502, NETWORK, TIMEOUT, TOO_LARGE, NON_JSON, BAD_ANSWER, UNVERIFIED */
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
  /**
   * business sub_codes (after any prefix) whose answer leaves the row's real state unclear, each with the reason:
   * the outcome is `reconcile`, and the caller reads the row's state back before recording it
   */
  reconcileSubCodes?: Readonly<Record<string, string>>;
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
  '20001': 'the app_auth_token is invalid, expired or not granted this method: check --app-auth-token',
  '40001': 'a required common parameter is missing (a bug in alipay-sync, or no public key uploaded for the app: please check and report it)',
  '40002': 'the gateway refused a common parameter: check --app-id, the key pair, --sign-type and the host clock',
  '40006': 'the app lacks permission for this method: sign the product / grant the API in the Alipay console',
};

/**
 * 40002 (非法的参数) sub_codes, from Alipay's public error-code list (公共错误码, opendocs.alipay.com/common/02km9f):
 * most name a common parameter, a key or the app (every request would meet them: stop the run); a few name the
 * content of this one request (fail the row, the run goes on).
 */
const SUB_CODES_40002: Readonly<Record<string, { kind: 'run-fatal' | 'row-fatal' | 'transient'; hint: string }>> = {
  // this request's content
  'isv.invalid-parameter': { kind: 'row-fatal', hint: 'a parameter of this row is invalid (参数无效: wrong format, illegal value or out of range)' },
  'isv.content-length-too-long': { kind: 'row-fatal', hint: 'this row\'s request is too long (内容超长)' },
  'isv.invalid-file-extension': { kind: 'row-fatal', hint: 'a file of this row has an extension Alipay refuses (文件扩展名无效)' },
  'isv.invalid-file-size': { kind: 'row-fatal', hint: 'a file of this row is too large (文件大小无效)' },
  // documented as "retry"
  'isv.upload-fail': { kind: 'transient', hint: 'the gateway could not store the upload (文件上传失败): will retry' },
  // credentials, signature, app id, timestamp, charset, method, format, encryption: configuration
  'isv.invalid-signature': { kind: 'run-fatal', hint: 'the request signature does not verify (无效签名): check --private-key matches the app public key uploaded to Alipay, and --sign-type' },
  'isv.invalid-signature-type': { kind: 'run-fatal', hint: 'the sign type is refused (无效的签名类型): check --sign-type' },
  'isv.missing-signature-config': { kind: 'run-fatal', hint: 'the app has no public key or certificate for this sign type (未配置对应签名算法的公钥或者证书): check --sign-type and the app\'s settings' },
  'isv.invalid-app-id': { kind: 'run-fatal', hint: 'the app id is unknown or not online (无效的appId参数): check --app-id and --gateway (production vs sandbox)' },
  'isv.invalid-timestamp': { kind: 'run-fatal', hint: 'the timestamp is refused (非法的时间戳参数): check the host clock' },
  'isv.invalid-charset': { kind: 'run-fatal', hint: 'the charset is refused (字符集错误)' },
  'isv.invalid-method': { kind: 'run-fatal', hint: 'no such method (不存在的方法名): check --gateway' },
  'isv.invalid-format': { kind: 'run-fatal', hint: 'the format is refused (无效的数据格式)' },
  'isv.invalid-encrypt-type': { kind: 'run-fatal', hint: 'the encryption type is refused (无效的加密类型): the app may require content encryption, which alipay-sync does not do' },
  'isv.invalid-encrypt': { kind: 'run-fatal', hint: 'decryption failed (解密异常): the app may require content encryption, which alipay-sync does not do' },
  'isv.invalid-digest': { kind: 'run-fatal', hint: 'a file digest is missing (摘要错误)' },
  'isv.not-support-app-auth': { kind: 'run-fatal', hint: 'this method cannot be called on behalf of a merchant (本接口不支持第三方代理调用): drop --app-auth-token' },
};

/**
 * Words that, in a 40002 sub_code not in the list above, mean the problem is our configuration rather than the
 * row: credentials, signature, keys and certificates, app id, timestamp, charset, permissions, tokens, encryption.
 */
const CONFIG_WORDS = /sign|key|cert|app-?id|app_id|timestamp|charset|permission|auth|token|encrypt|decrypt|method|version/i;

/** What a 40002 means, by sub_code. */
function classify40002(subCode: string | undefined): { kind: 'run-fatal' | 'row-fatal' | 'transient'; hint: string } {
  if (!subCode) return { kind: 'run-fatal', hint: CONFIG_HINT['40002']! };
  const known = SUB_CODES_40002[subCode.toLowerCase()];
  if (known) return known;
  const lower = subCode.toLowerCase();
  // isv.decryption-error-*, isv.missing-* (a common parameter: 40001's family), anything about keys or signing.
  if (lower.startsWith('isv.decryption-error') || lower.startsWith('isv.missing-') || CONFIG_WORDS.test(lower)) {
    return { kind: 'run-fatal', hint: CONFIG_HINT['40002']! };
  }
  // Unknown and not about configuration: fail the row, not the run. A 40002 that every row meets still stops the
  // run, through FailureStreak (N rows in a row failing with the same sub_code).
  return { kind: 'row-fatal', hint: 'the gateway refused a parameter of this row' };
}

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
  const detail = (hint: string) => (subMsg ? `${hint} (${subMsg})` : hint);
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
    case '40002': {
      const c = classify40002(subCode);
      return { ...base, kind: c.kind, reason: `${subCode ?? code}: ${c.kind === 'run-fatal' ? c.hint : detail(c.hint)}` };
    }
    // 20001: every sub_code is about the app_auth_token (invalid, expired, not granted this API, no product);
    // 40001: every sub_code is a missing common parameter (isv.missing-method/-signature/-app-id/-timestamp…) or
    // a missing key configuration: none is about one row's content.
    // 40006: isv.insufficient-isv-permissions / isv.insufficient-user-permissions: the app's or merchant's grant.
    case '20001':
    case '40001':
    case '40006':
      return { ...base, kind: 'run-fatal', reason: `${subCode ?? code}: ${CONFIG_HINT[code]}` };
    case '40004': {
      if (policy.transientSubCodes.includes(tail)) {
        return { ...base, kind: 'transient', reason: `${subCode}: business system busy, will retry` };
      }
      const reconcile = policy.reconcileSubCodes?.[tail];
      if (reconcile) {
        return { ...base, kind: 'reconcile', reason: `${subCode}: ${detail(reconcile)}` };
      }
      // The meaning says what to do; the gateway's sub_msg says which value (the pipeline masks personal data in it).
      const meaning = policy.meanings?.[tail];
      const text = meaning && subMsg ? `${meaning} (${subMsg})` : (meaning ?? subMsg ?? msg ?? 'business failure');
      return { ...base, kind: 'row-fatal', reason: `${subCode ?? '40004'}: ${text}` };
    }
    default:
      // An answer we do not know how to read is not a success; fail the row, do not loop on it.
      return { ...base, kind: 'row-fatal', reason: `unexpected gateway code ${code || '(none)'}${subCode ? ' ' + subCode : ''}` };
  }
}

/**
 * What an HTTP status other than 200 means. `excerpt` is the first characters of the body, already masked
 * (see bodyExcerpt in client.ts); it is named in the reasons a person must act on.
 *   5xx, 408, 425, 429  transient: the gateway or a proxy is busy or timed out; the outcome is unknown
 *   413                 row-fatal: this row's request is too large for the gateway (the next row may not be)
 *   400, 409, 422       row-fatal: this request was refused as malformed; no common parameter comes from the row,
 *                       so if every row meets it, FailureStreak stops the run
 *   401, 403, 407       run-fatal: credentials or a proxy/firewall in the way (configuration), every row would meet it
 *   any other 4xx, 3xx  run-fatal: the URL is not a gateway (404, 405, a redirect…): check --gateway
 *   other 2xx           transient: not an answer, outcome unknown
 */
export function classifyHttpStatus(status: number, excerpt = ''): Outcome {
  const base = { code: `HTTP_${status}`, httpStatus: status, verified: false } as const;
  const body = excerpt ? `: "${excerpt}"` : '';
  if (status >= 500) {
    return { ...base, kind: 'transient', reason: `HTTP ${status} from the gateway: outcome unknown, will retry` };
  }
  if (status === 429) {
    return { ...base, kind: 'transient', slowDown: true, reason: 'HTTP 429 from the gateway: slowing down' };
  }
  if (status === 408 || status === 425) {
    return { ...base, kind: 'transient', reason: `HTTP ${status} from the gateway (request timeout): outcome unknown, will retry` };
  }
  if (status === 413) {
    return { ...base, kind: 'row-fatal', reason: 'HTTP 413 from the gateway: this row\'s request is too large' };
  }
  if (status === 400 || status === 409 || status === 422) {
    return { ...base, kind: 'row-fatal', reason: `HTTP ${status} from the gateway: this request was refused${body}` };
  }
  if (status === 401 || status === 403 || status === 407) {
    const who = status === 407 ? 'a proxy wants credentials (check HTTPS_PROXY / the proxy settings)' : 'access refused (check --gateway, a firewall or proxy in the way, and the app\'s IP allow-list)';
    return { ...base, kind: 'run-fatal', reason: `HTTP ${status} from the gateway: ${who}${body}` };
  }
  if (status >= 300 && status < 500) {
    return { ...base, kind: 'run-fatal', reason: `HTTP ${status} from the gateway: check --gateway (it should end in /gateway.do)${body}` };
  }
  return { ...base, kind: 'transient', reason: `HTTP ${status} from the gateway is not an answer: outcome unknown, will retry${body}` };
}

export function networkOutcome(err: unknown, timedOut: boolean): Outcome {
  if (timedOut) {
    return { kind: 'transient', code: 'TIMEOUT', verified: false, reason: 'no complete answer within the request timeout: outcome unknown, will retry' };
  }
  const code = (err as { code?: string } | null)?.code ?? 'ERROR';
  return { kind: 'transient', code: 'NETWORK', subCode: code, verified: false, reason: `network error ${code}: outcome unknown, will retry` };
}

/**
 * Notices when rows keep failing for the same reason: N row-fatal outcomes in a row with one sub_code (or code,
 * when there is none) are more likely our configuration than N bad rows (e.g. every row meeting
 * `isv.invalid-parameter` because a field is mapped wrong). `note` returns a reason to stop the run once the
 * streak reaches `limit`, and keeps returning it while the streak goes on; any other outcome resets it.
 */
export class FailureStreak {
  private key: string | null = null;
  private count = 0;

  constructor(readonly limit = 20) {}

  note(outcome: Pick<Outcome, 'kind' | 'code' | 'subCode' | 'reason'> & Partial<Outcome>): string | null {
    if (outcome.kind !== 'row-fatal') {
      this.key = null;
      this.count = 0;
      return null;
    }
    const key = outcome.subCode || outcome.code;
    if (key !== this.key) {
      this.key = key;
      this.count = 0;
    }
    this.count++;
    if (this.count < this.limit) return null;
    return `${this.count} rows in a row failed with ${key}: probably configuration, not the rows (last: ${outcome.reason})`;
  }
}
