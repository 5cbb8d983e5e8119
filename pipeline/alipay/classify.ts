/**
 * The one judge of every gateway exchange (alipay-protocol.md, "Gateway codes"; the README's outcome table): code,
 * sub_code, HTTP status, body shape and the signature's verdict in, an Outcome out. Pure: the client does the HTTP
 * and hands the verification in as a function; what a method's business codes mean comes from its dataset
 * (sources/, AnswerRules). Every outcome means one of:
 *   success   – the row is done
 *   transient – outcome unknown or gateway busy: retry with backoff (uploads are idempotent by key+snapshot)
 *   row-fatal – this row is refused for a reason in its own content: record it, never retry it within the run
 *   run-fatal – our credentials, signature, configuration or the answer's signature are wrong: stop, leave the rest pending
 *   reconcile – the answer says the row's real state on Alipay is unclear (e.g. a sign.effect that may already have
 *               taken effect): read the row's state back with a query before recording anything
 */
import type { AnswerRules } from '../../sources/dataset.js';
import { CONFIG_HINT, classify40002, encryptionHint } from './common-codes.js';
import { bodyExcerpt } from './excerpt.js';
import { readAnswer, ResponseShapeError } from './response.js';

export { FailureStreak } from './failure-streak.js';

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

/** What a method's answers mean when nothing more is known: the protocol's rules alone. */
export const DEFAULT_ANSWERS: AnswerRules = Object.freeze({ meanings: Object.freeze({}) });

/** Business sub_codes that mean "try again" for every method (code 40004). */
export const TRANSIENT_SUB_CODES: readonly string[] = Object.freeze(['SYSTEM_ERROR']);

/** Alipay prefixes business codes inconsistently (`ACQ.SYSTEM_ERROR`, `isv.SYSTEM_ERROR`): compare the tail. */
export function bareSubCode(subCode: string): string {
  const dot = subCode.lastIndexOf('.');
  return dot >= 0 ? subCode.slice(dot + 1) : subCode;
}

/** Classify a decoded (and, where signed, verified) answer. */
export function classifyAnswer(fields: Record<string, unknown>, verified: boolean, rules: AnswerRules = DEFAULT_ANSWERS): Outcome {
  const code = String(fields.code ?? '');
  const subCode = fields.sub_code === undefined ? undefined : String(fields.sub_code);
  const subMsg = fields.sub_msg === undefined ? undefined : String(fields.sub_msg);
  const msg = fields.msg === undefined ? undefined : String(fields.msg);
  const base = { code, subCode, subMsg, msg, fields, verified };
  const tail = subCode ? bareSubCode(subCode) : '';
  // the gateway's sub_msg beside our meaning, unless the meaning already quotes it (含敏感词, 用户协议不存在): said once
  const detail = (hint: string) => (subMsg && !hint.includes(subMsg.trim()) ? `${hint} (${subMsg})` : hint);
  switch (code) {
    case '10000': {
      if (!verified) {
        return { ...base, kind: 'run-fatal', code: 'UNVERIFIED', reason: 'a success answer came without a valid signature: its outcome is unknown' };
      }
      const failure = rules.rowFailure?.(fields) ?? null;
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
      return { ...base, kind: 'run-fatal', reason: `${subCode ?? code}: ${encryptionHint(subCode) ?? CONFIG_HINT[code]}` };
    // 40003 (Insufficient Conditions): the gateway answers it when it cannot decrypt a request
    // (isv.decryption-error-unknown, 解密出错): every row would meet it.
    case '40003': {
      const hint = encryptionHint(subCode);
      if (hint) return { ...base, kind: 'run-fatal', reason: `${subCode}: ${hint}` };
      return { ...base, kind: 'row-fatal', reason: `unexpected gateway code 40003${subCode ? ' ' + subCode : ''}${subMsg ? ` (${subMsg})` : ''}` };
    }
    case '40004': {
      if (TRANSIENT_SUB_CODES.includes(tail) || rules.transientSubCodes?.includes(tail)) {
        return { ...base, kind: 'transient', reason: `${subCode}: business system busy, will retry` };
      }
      const reconcile = rules.reconcileSubCodes?.[tail];
      if (reconcile) {
        return { ...base, kind: 'reconcile', reason: `${subCode}: ${detail(reconcile)}` };
      }
      // The meaning says what to do; the gateway's sub_msg says which value (the pipeline masks personal data in it).
      const meaning = rules.meanings[tail];
      const text = meaning ? detail(meaning) : (subMsg ?? msg ?? 'business failure');
      return { ...base, kind: 'row-fatal', reason: `${subCode ?? '40004'}: ${text}` };
    }
    default:
      // An answer we do not know how to read is not a success; fail the row, do not loop on it.
      return { ...base, kind: 'row-fatal', reason: `unexpected gateway code ${code || '(none)'}${subCode ? ' ' + subCode : ''}` };
  }
}

/**
 * What an HTTP status other than 200 means. `excerpt` is the first characters of the body, already masked
 * (see bodyExcerpt in excerpt.ts); it is named in the reasons a person must act on.
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
 * Checks an answer's signature: `raw` is the text of its `*_response` node, `sign` the signature beside it,
 * `certSn` the `alipay_cert_sn` beside them (certificate mode: which Alipay certificate signed it).
 */
export type AnswerCheck = (raw: string, sign: string, certSn?: string) => boolean;

/** Decrypts an encrypted answer node (content encryption); throws when it cannot. Absent: no --encrypt-key. */
export type AnswerDecrypt = (cipherText: string) => string;

/** The fields of an encrypted node, decrypted after its signature was checked; or the run-fatal outcome. */
function decrypted(cipher: string, decrypt: AnswerDecrypt | undefined): { fields: Record<string, unknown> } | { outcome: Outcome } {
  const fatal = (code: string, reason: string) => ({ outcome: { kind: 'run-fatal', code, verified: false, reason } as Outcome });
  if (!decrypt) {
    return fatal('ENCRYPTED', 'the answer is encrypted: content encryption (接口内容加密) is on for this app; give its AES key with --encrypt-key (or ALIPAY_SYNC_ENCRYPT_KEY): outcome unknown');
  }
  let fields: unknown;
  try {
    fields = JSON.parse(decrypt(cipher));
  } catch {
    fields = undefined;
  }
  if (!fields || typeof fields !== 'object' || Array.isArray(fields)) {
    return fatal('UNDECRYPTABLE', 'the encrypted answer does not decrypt with --encrypt-key (not the app\'s AES key?): outcome unknown');
  }
  return { fields: fields as Record<string, unknown> };
}

/**
 * Judge one HTTP 200 answer body (the text of its bytes, decoded by the charset it declared). A body that is not
 * JSON is a proxy's page or a cut answer (transient, outcome unknown); JSON that is not an answer for `method`
 * (no `*_response` node, a root key twice) cannot be trusted (run-fatal); a signed answer whose signature `verify`
 * refuses is run-fatal; otherwise classifyAnswer decides, a success only when signed and verified.
 */
export function judgeBody(text: string, method: string, rules: AnswerRules, verify: AnswerCheck, decrypt?: AnswerDecrypt): Outcome {
  let answer;
  try {
    answer = readAnswer(text, method);
  } catch (err) {
    let json = true;
    try {
      JSON.parse(text);
    } catch {
      json = false;
    }
    if (!json) {
      // An HTML error page or a cut answer from a proxy or load balancer: not Alipay's word, outcome unknown.
      const excerpt = bodyExcerpt(text);
      return {
        kind: 'transient', code: 'NON_JSON', httpStatus: 200, verified: false,
        reason: `the gateway answered HTTP 200 with something that is not JSON${excerpt ? `: "${excerpt}"` : ''}: outcome unknown, will retry`,
      };
    }
    const why = err instanceof ResponseShapeError ? err.message : 'not an answer';
    return { kind: 'run-fatal', code: 'BAD_ANSWER', verified: false, reason: `the gateway's answer cannot be trusted (${why}): outcome unknown` };
  }
  // An encrypted node is verified as it stands (the quoted base64), then decrypted.
  const open = (verified: boolean): Outcome => {
    if (answer.encrypted === undefined) return classifyAnswer(answer.fields, verified, rules);
    const d = decrypted(answer.encrypted, decrypt);
    return 'outcome' in d ? d.outcome : classifyAnswer(d.fields, verified, rules);
  };
  // Unsigned: only a failure can be taken at its word (a success needs a signature; classifyAnswer enforces it).
  if (answer.sign === undefined) return open(false);
  if (!verify(answer.raw, answer.sign, answer.certSn)) {
    return {
      kind: 'run-fatal',
      code: 'UNVERIFIED',
      subCode: typeof answer.fields.sub_code === 'string' ? answer.fields.sub_code : undefined,
      verified: false,
      reason: answer.certSn
        ? `the answer's signature does not verify with the Alipay certificate ${answer.certSn} it names: outcome unknown (the answer was altered, or signed with another key)`
        : 'the answer\'s signature does not verify with --alipay-public-key: outcome unknown (wrong key, or the answer was altered)',
    };
  }
  return open(true);
}

/** One request as the client saw it: no complete answer, or an answer (its body cut at `maxBytes` when `over`). */
export type Exchange =
  | { failed: true; error: unknown; timedOut: boolean }
  | { failed?: false; status: number; text: string; over?: boolean; maxBytes?: number };

/** The outcome of one exchange: the single place every Outcome the client returns is built. */
export function judge(exchange: Exchange, method: string, rules: AnswerRules, verify: AnswerCheck, decrypt?: AnswerDecrypt): Outcome {
  if (exchange.failed) return networkOutcome(exchange.error, exchange.timedOut);
  if (exchange.status !== 200) return classifyHttpStatus(exchange.status, bodyExcerpt(exchange.text));
  if (exchange.over) {
    return {
      kind: 'transient', code: 'TOO_LARGE', httpStatus: 200, verified: false,
      reason: `the answer is larger than ${exchange.maxBytes ?? 'the cap of'} bytes: not read, outcome unknown, will retry`,
    };
  }
  return judgeBody(exchange.text, method, rules, verify, decrypt);
}
