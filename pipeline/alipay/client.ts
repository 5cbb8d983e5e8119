import type { KeyObject } from 'node:crypto';
import iconv from 'iconv-lite';
import { Agent, type Dispatcher, request } from 'undici';
import { classifyAnswer, classifyHttpStatus, DEFAULT_POLICY, networkOutcome, type MethodPolicy, type Outcome } from './classify.js';
import { bodyExcerpt } from './excerpt.js';
import { readAnswer, ResponseShapeError } from './response.js';
import { beijingTimestamp, signString, signText, verifyBytes, type SignType } from './sign.js';

/**
 * The largest answer body read: 4 MiB. The answers of the methods spoken here are a few hundred bytes
 * (batch.query: one user's agreements, a few KiB); a body past this is not an Alipay answer, and reading it whole
 * would let a broken gateway or proxy take the client's memory (eight 200 MB answers took it to 2.1 GB). The read
 * is aborted as soon as the cap is passed (or at once when Content-Length says so); the outcome is transient
 * (TOO_LARGE: outcome unknown, retried).
 */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/** The charset a Content-Type declares, as iconv-lite names it; utf-8 when none is declared or it is unknown. */
export function declaredCharset(contentType: string | undefined): string {
  const m = contentType ? /charset\s*=\s*"?([^";\s]+)/i.exec(contentType) : null;
  if (!m) return 'utf-8';
  const name = m[1]!.toLowerCase();
  if (name === 'utf-8' || name === 'utf8') return 'utf-8';
  return iconv.encodingExists(name) ? name : 'utf-8';
}

function decode(bytes: Buffer, charset: string): string {
  return charset === 'utf-8' ? bytes.toString('utf8') : iconv.decode(bytes, charset);
}

/** Read a body up to `cap` bytes; past it, stop reading at once (the stream is destroyed) and say so. */
async function readCapped(body: Dispatcher.ResponseData['body'], cap: number, declaredLength: string | undefined): Promise<{ bytes: Buffer; over: boolean }> {
  if (declaredLength !== undefined && Number(declaredLength) > cap) {
    body.destroy();
    return { bytes: Buffer.alloc(0), over: true };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size + chunk.length > cap) {
      chunks.push(chunk.subarray(0, cap - size));
      body.destroy();
      return { bytes: Buffer.concat(chunks), over: true };
    }
    size += chunk.length;
    chunks.push(chunk);
  }
  return { bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), over: false };
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export interface ClientOptions {
  gateway: string;
  appId: string;
  privateKey: KeyObject;
  alipayPublicKey: KeyObject;
  signType?: SignType;
  appAuthToken?: string;
  /** the whole request, from sending to the last byte of the answer (not idle time between bytes) */
  requestTimeoutMs?: number;
  /** answer bodies past this many bytes are not read (default MAX_ANSWER_BYTES, 4 MiB) */
  maxAnswerBytes?: number;
  /** an undici dispatcher; by default a keep-alive Agent owned (and closed) by the client */
  dispatcher?: Dispatcher;
  /** max sockets per origin for the owned Agent */
  connections?: number;
  clock?: () => number;
}

export interface CallOptions {
  notifyUrl?: string;
  policy?: MethodPolicy;
  signal?: AbortSignal;
}

export interface CallResult extends Outcome {
  durationMs: number;
}

/**
 * The OpenAPI v2 gateway client. Keys are parsed once (KeyObject), the connection pool is kept alive, and every
 * answer is verified before it can count: a `10000` without a valid signature is not a success.
 */
export class AlipayClient {
  readonly gateway: URL;
  private readonly base: string;
  private readonly opts: Required<Pick<ClientOptions, 'appId' | 'privateKey' | 'alipayPublicKey' | 'signType' | 'requestTimeoutMs'>> &
    Pick<ClientOptions, 'appAuthToken'>;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly clock: () => number;
  private readonly maxAnswerBytes: number;
  private readonly verifiedAnswers = new Set<string>();

  constructor(options: ClientOptions) {
    this.gateway = new URL(options.gateway);
    this.base = this.gateway.toString();
    this.opts = {
      appId: options.appId,
      privateKey: options.privateKey,
      alipayPublicKey: options.alipayPublicKey,
      signType: options.signType ?? 'RSA2',
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      appAuthToken: options.appAuthToken || undefined,
    };
    this.ownsDispatcher = !options.dispatcher;
    this.dispatcher =
      options.dispatcher ??
      new Agent({ connections: options.connections ?? 16, keepAliveTimeout: 30_000, pipelining: 1 });
    this.clock = options.clock ?? Date.now;
    this.maxAnswerBytes = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
  }

  /** The signed parameters of one call, split as the gateway expects: common params in the query, biz_content in the body. */
  buildRequest(method: string, bizContent: string, notifyUrl?: string): { url: string; body: string; params: Record<string, string> } {
    const params: Record<string, string> = {
      app_id: this.opts.appId,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: this.opts.signType,
      timestamp: beijingTimestamp(this.clock()),
      version: '1.0',
    };
    if (this.opts.appAuthToken) params.app_auth_token = this.opts.appAuthToken;
    if (notifyUrl) params.notify_url = notifyUrl;
    // Empty optional values are never sent, so the signed set and the sent set are the same.
    if (bizContent) params.biz_content = bizContent;
    params.sign = signText(signString(params), this.opts.privateKey, this.opts.signType);

    // The query is built as text: URL/URLSearchParams per request showed in the profile of a 20k-row send.
    let query = '';
    for (const k in params) {
      if (k === 'biz_content') continue;
      query += (query ? '&' : '') + k + '=' + encodeURIComponent(params[k]!);
    }
    const body = bizContent ? 'biz_content=' + encodeURIComponent(bizContent) : '';
    return { url: this.base + (this.base.includes('?') ? '&' : '?') + query, body, params };
  }

  async call(method: string, bizContent: string, options: CallOptions = {}): Promise<CallResult> {
    const started = performance.now();
    const { url, body } = this.buildRequest(method, bizContent, options.notifyUrl);
    const outcome = await this.send(url, body, method, options);
    return { ...outcome, durationMs: Math.round(performance.now() - started) };
  }

  private async send(url: string, body: string, method: string, options: CallOptions): Promise<Outcome> {
    // One deadline for the whole request: undici's headersTimeout/bodyTimeout only bound idle time, so a gateway
    // that trickles its answer a byte at a time would hold the request (and the run, and SIGTERM) forever.
    const timeout = this.opts.requestTimeoutMs;
    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort();
    }, timeout);
    const outer = options.signal;
    const onOuter = () => deadline.abort(outer?.reason);
    if (outer) {
      if (outer.aborted) onOuter();
      else outer.addEventListener('abort', onOuter, { once: true });
    }
    let status: number;
    let charset: string;
    let read: { bytes: Buffer; over: boolean };
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.dispatcher,
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8', accept: 'application/json' },
        body,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: deadline.signal,
      });
      status = res.statusCode;
      charset = declaredCharset(headerText(res.headers['content-type']));
      read = await readCapped(res.body, this.maxAnswerBytes, headerText(res.headers['content-length']));
    } catch (err) {
      const code = (err as { code?: string } | null)?.code;
      return networkOutcome(err, timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT');
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    }
    if (status !== 200) return classifyHttpStatus(status, bodyExcerpt(decode(read.bytes, charset)));
    if (read.over) {
      return {
        kind: 'transient', code: 'TOO_LARGE', httpStatus: 200, verified: false,
        reason: `the answer is larger than ${this.maxAnswerBytes} bytes: not read, outcome unknown, will retry`,
      };
    }
    return this.judge(decode(read.bytes, charset), method, options.policy ?? DEFAULT_POLICY, charset);
  }

  /**
   * Verify and classify one answer body, given as the text of its bytes decoded by the charset the answer declared
   * (`charset`, utf-8 by default). Public so the rules can be tested on crafted bodies.
   */
  judge(text: string, method: string, policy: MethodPolicy = DEFAULT_POLICY, charset = 'utf-8'): Outcome {
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
      return {
        kind: 'run-fatal',
        code: 'BAD_ANSWER',
        verified: false,
        reason: `the gateway's answer cannot be trusted (${why}): outcome unknown`,
      };
    }
    if (answer.sign !== undefined) {
      if (!this.verified(answer.raw, answer.sign, charset)) {
        return {
          kind: 'run-fatal',
          code: 'UNVERIFIED',
          subCode: typeof answer.fields.sub_code === 'string' ? answer.fields.sub_code : undefined,
          verified: false,
          reason: 'the answer\'s signature does not verify with --alipay-public-key: outcome unknown (wrong key, or the answer was altered)',
        };
      }
      return classifyAnswer(answer.fields, true, policy);
    }
    // Unsigned: only a failure can be taken at its word (a success needs a signature; classifyAnswer enforces it).
    return classifyAnswer(answer.fields, false, policy);
  }

  /**
   * Verify an answer's signature, remembering pairs that verified. Sound because verification is a pure function
   * of (text, signature, key); worth it because most answers are the same text with the same signature
   * (`{"code":"10000","msg":"Success"}`, signed deterministically), so a migration would otherwise spend an RSA
   * operation per row re-proving one fact. Only successes are remembered, and only a bounded number.
   *
   * Answers are signed with the app's sign type (RSA2, or RSA = SHA1withRSA when the app signs with RSA), as the
   * official SDKs verify them. When the first check fails and the text holds `\/`, it is checked once more with
   * `\/` read as `/`, as the Java and PHP SDKs do: a JSON writer may escape the slash after Alipay signed the text
   * (a URL, "5元/小时").
   */
  private verified(raw: string, sign: string, charset: string): boolean {
    const id = sign + '\u0000' + raw;
    if (this.verifiedAnswers.has(id)) return true;
    let ok = this.verifyOnce(raw, sign, charset);
    if (!ok && raw.includes('\\/')) ok = this.verifyOnce(raw.replaceAll('\\/', '/'), sign, charset);
    if (ok && raw.length <= 4096) {
      if (this.verifiedAnswers.size >= 1024) this.verifiedAnswers.clear();
      this.verifiedAnswers.add(id);
    }
    return ok;
  }

  /**
   * The signature covers the text's bytes in our request charset (utf-8), as the Java SDK checks it; an answer
   * declared in another charset (Alipay answers some errors in GBK) is also checked over that charset's bytes,
   * i.e. exactly the bytes that came.
   */
  private verifyOnce(text: string, sign: string, charset: string): boolean {
    const { alipayPublicKey, signType } = this.opts;
    if (verifyBytes(Buffer.from(text, 'utf8'), sign, alipayPublicKey, signType)) return true;
    return charset !== 'utf-8' && verifyBytes(iconv.encode(text, charset), sign, alipayPublicKey, signType);
  }

  private closed = false;

  /** Close the owned connection pool; safe to call more than once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}
