import type { KeyObject } from 'node:crypto';
import iconv from 'iconv-lite';
import { Agent, type Dispatcher, request } from 'undici';
import type { AnswerRules } from '../../sources/dataset.js';
import { aesDecrypt, aesEncrypt, type AesKey } from './aes.js';
import { CERT_DOWNLOAD_METHOD, CertRotation } from './cert-rotation.js';
import type { AlipayCertificates } from './certs.js';
import { DEFAULT_ANSWERS, judge, type Exchange, type Outcome } from './classify.js';
import { readAnswer } from './response.js';
import { beijingTimestamp, signString, signText, type SignType } from './sign.js';
import { AnswerVerifier } from './verify.js';

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
  /** public-key mode: the key every answer is verified with; certificate mode: unused (the certificates' keys are) */
  alipayPublicKey?: KeyObject;
  /** certificate mode (公钥证书): the app, root and Alipay certificates (see certs.ts) */
  certificates?: AlipayCertificates;
  /** content encryption (接口内容加密): biz_content is sent encrypted and encrypted answers are decrypted */
  encryptKey?: AesKey;
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
  /** the merchant this call is made for: its app_auth_token, null for none (default: the client's appAuthToken) */
  appAuthToken?: string | null;
  /** what the method's answers mean: its dataset's `answers` (default: the protocol's rules alone) */
  policy?: AnswerRules;
  signal?: AbortSignal;
}

export interface CallResult extends Outcome {
  durationMs: number;
  /** Alipay's id of the call (the answer's `trace_id` header): what Alipay's support asks for */
  traceId?: string;
  /** the gateway's clock (the answer's `Date` header, epoch ms): `check --online` compares ours with it */
  serverTime?: number;
}

/**
 * The OpenAPI v2 gateway client: signing, HTTP and answer verification. Keys are parsed once (KeyObject), the
 * connection pool is kept alive, and every answer is verified before it can count: a `10000` without a valid
 * signature is not a success. What an exchange means is decided by classify.ts's `judge`, not here.
 */
export class AlipayClient {
  readonly gateway: URL;
  private readonly base: string;
  private readonly opts: Required<Pick<ClientOptions, 'appId' | 'privateKey' | 'signType' | 'requestTimeoutMs'>> &
    Pick<ClientOptions, 'appAuthToken' | 'certificates' | 'encryptKey'>;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly clock: () => number;
  private readonly maxAnswerBytes: number;
  /** one verifier per key: the Alipay public key (under ''), or each Alipay certificate by SN */
  private readonly verifiers = new Map<string, AnswerVerifier>();
  /** certificate mode: fetches the certificates answers name that are not known yet */
  readonly rotation: CertRotation | undefined;

  constructor(options: ClientOptions) {
    this.gateway = new URL(options.gateway);
    this.base = this.gateway.toString();
    this.opts = {
      appId: options.appId,
      privateKey: options.privateKey,
      signType: options.signType ?? 'RSA2',
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      appAuthToken: options.appAuthToken || undefined,
      certificates: options.certificates,
      encryptKey: options.encryptKey,
    };
    if (!options.certificates && !options.alipayPublicKey) throw new TypeError('AlipayClient: give alipayPublicKey or certificates');
    this.ownsDispatcher = !options.dispatcher;
    this.dispatcher =
      options.dispatcher ??
      new Agent({ connections: options.connections ?? 16, keepAliveTimeout: 30_000, pipelining: 1 });
    this.clock = options.clock ?? Date.now;
    this.maxAnswerBytes = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
    if (options.alipayPublicKey && !options.certificates) this.verifiers.set('', new AnswerVerifier(options.alipayPublicKey, this.opts.signType));
    this.rotation = options.certificates
      ? new CertRotation(options.certificates, (sn, signal) => this.download(sn, signal), this.clock)
      : undefined;
  }

  /** certificate mode: the certificates in use (more are added as Alipay rotates its own) */
  get certificates(): AlipayCertificates | undefined {
    return this.opts.certificates;
  }

  /** The verifier of the key that signed an answer: by the SN it names in certificate mode (the configured one when it names none). */
  private verifierFor(certSn: string | undefined): AnswerVerifier | undefined {
    const certs = this.opts.certificates;
    const id = certs ? (certSn ?? certs.configuredSn) : '';
    let v = this.verifiers.get(id);
    const key = certs?.keyOf(id);
    if (!v && key) this.verifiers.set(id, (v = new AnswerVerifier(key, this.opts.signType)));
    return v;
  }

  /** The signed parameters of one call, split as the gateway expects: common params in the query, biz_content in the body. */
  /** The app_auth_token calls carry unless they name another (or none). */
  get appAuthToken(): string | undefined {
    return this.opts.appAuthToken;
  }

  /** `appAuthToken`: the merchant's (null: none; default: the client's); `plain`: never encrypted (the certificate download). */
  buildRequest(method: string, bizContent: string, notifyUrl?: string, o: { plain?: boolean; appAuthToken?: string | null } = {}): { url: string; body: string; params: Record<string, string> } {
    const params: Record<string, string> = {
      app_id: this.opts.appId,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: this.opts.signType,
      timestamp: beijingTimestamp(this.clock()),
      version: '1.0',
    };
    const appAuthToken = o.appAuthToken === undefined ? this.opts.appAuthToken : o.appAuthToken;
    if (appAuthToken) params.app_auth_token = appAuthToken;
    if (notifyUrl) params.notify_url = notifyUrl;
    if (this.opts.certificates) {
      params.app_cert_sn = this.opts.certificates.appCertSn;
      params.alipay_root_cert_sn = this.opts.certificates.rootCertSn;
    }
    // Encrypted first, then signed (the SDKs' order): the signature covers the ciphertext that is sent.
    if (bizContent && this.opts.encryptKey && !o.plain) {
      params.encrypt_type = 'AES';
      bizContent = aesEncrypt(bizContent, this.opts.encryptKey);
    }
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
    const { url, body } = this.buildRequest(method, bizContent, options.notifyUrl, { appAuthToken: options.appAuthToken });
    const exchange = await this.send(url, body, options.signal);
    const charset = exchange.failed ? 'utf-8' : exchange.charset;
    // Alipay's id of the call and its clock, from the answer's headers (none when no answer came)
    const traced = exchange.failed ? {} : { ...(exchange.traceId ? { traceId: exchange.traceId } : {}), ...(exchange.serverTime ? { serverTime: exchange.serverTime } : {}) };
    const done = (o: Outcome): CallResult => ({ ...o, durationMs: Math.round(performance.now() - started), ...traced });
    // Certificate mode: an answer signed with a certificate not known yet (Alipay rotated it) needs it first.
    const sn = this.rotation && !exchange.failed && exchange.status === 200 && !exchange.over ? certSnOf(exchange.text, method) : undefined;
    if (sn) {
      const refused = await this.rotation!.ensure(sn, options.signal);
      if (refused) return done(refused);
    }
    const key = this.opts.encryptKey;
    return done(judge(
      exchange, method, options.policy ?? DEFAULT_ANSWERS,
      (raw, sign, certSn) => this.verifierFor(certSn)?.verify(raw, sign, charset) ?? false,
      key ? (cipher) => aesDecrypt(cipher, key) : undefined,
    ));
  }

  /** alipay.open.app.alipaycert.download of one certificate (never encrypted): the exchange, not judged here. */
  private async download(sn: string, signal: AbortSignal | undefined): Promise<Exchange> {
    const { url, body } = this.buildRequest(CERT_DOWNLOAD_METHOD, JSON.stringify({ alipay_cert_sn: sn }), undefined, { plain: true });
    return this.send(url, body, signal);
  }

  /** POST one request and read its answer, decoded by the charset it declares; no judgement here. */
  private async send(url: string, body: string, outer: AbortSignal | undefined): Promise<Exchange & { charset?: string; traceId?: string; serverTime?: number }> {
    // One deadline for the whole request: undici's headersTimeout/bodyTimeout only bound idle time, so a gateway
    // that trickles its answer a byte at a time would hold the request (and the run, and SIGTERM) forever.
    const timeout = this.opts.requestTimeoutMs;
    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort();
    }, timeout);
    const onOuter = () => deadline.abort(outer?.reason);
    if (outer) {
      if (outer.aborted) onOuter();
      else outer.addEventListener('abort', onOuter, { once: true });
    }
    let status: number;
    let charset: string;
    let traceId: string | undefined;
    let serverTime: number | undefined;
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
      // the gateway's own id of the call (the official SDK reads the same header); a proxy's page has none
      traceId = headerText(res.headers['trace_id']) ?? headerText(res.headers['alipay-trace-id']);
      const date = Date.parse(headerText(res.headers['date']) ?? '');
      if (Number.isFinite(date)) serverTime = date;
      read = await readCapped(res.body, this.maxAnswerBytes, headerText(res.headers['content-length']));
    } catch (err) {
      const code = (err as { code?: string } | null)?.code;
      return { failed: true, error: err, timedOut: timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' };
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    }
    // A 200 past the cap is judged by its size alone: its cut text is not decoded.
    const text = read.over && status === 200 ? '' : decode(read.bytes, charset);
    return { status, text, over: read.over, maxBytes: this.maxAnswerBytes, charset, ...(traceId ? { traceId: traceId.slice(0, 64) } : {}), ...(serverTime ? { serverTime } : {}) };
  }

  private closed = false;


  /** Close the owned connection pool; safe to call more than once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

/** The `alipay_cert_sn` an answer names, when the body reads as an answer (the judge says what it is otherwise). */
function certSnOf(text: string, method: string): string | undefined {
  try {
    return readAnswer(text, method).certSn;
  } catch {
    return undefined;
  }
}
