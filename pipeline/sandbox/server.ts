import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import iconv from 'iconv-lite';
import { beijingTimestamp, parseBeijingTimestamp, signString, signText, verifyText, isSignType, type SignType } from '../alipay/sign.js';
import { BEHAVIOUR_NAMES, type BehaviourName, type Behaviours } from './behaviours.js';
import { FaultPlan, type FaultKind, type FaultOptions } from './faults.js';
import { BorrowEntityMethod } from './methods/borrow-entity.js';
import { WorkerContractMethod } from './methods/worker-contract.js';
import {
  AgreementBatchQueryMethod, AgreementEffectMethod, AgreementQueryMethod, AgreementStore, DEFAULT_INVALID_TIME, type AgreementRecord, type SeedAgreement,
} from './methods/agreements.js';
import { notificationFields, sendNotification, signNotification, type NoticeType } from './notify-sender.js';
import type { MethodAnswer, SandboxMethod } from './methods/types.js';
import { responseKey } from './pages/index.js';

export interface SandboxOptions {
  host?: string;
  port?: number;
  /** the app this gateway knows; requests from any other app_id get isv.invalid-app-id */
  appId?: string;
  /** the app's public key: request signatures are checked with it */
  appPublicKey: KeyObject;
  /** "Alipay's" private key: answers are signed with it */
  alipayPrivateKey: KeyObject;
  /** accepted app_auth_tokens; a request carrying any other token gets 20001 */
  appAuthTokens?: string[];
  /** how far a request's timestamp may be from the gateway's Beijing clock */
  timestampToleranceMs?: number;
  /** the user agreements it holds (TEMP / NORMAL / STOP), for sign.effect and batch.query */
  agreements?: SeedAgreement[];
  /** how many times a notification is sent until the receiver says `success` (Alipay: about 8 over 25 h) */
  notifyAttempts?: number;
  /** requests per second the app may make (sliding one-second window); beyond it: 40005 isv.app-call-limited */
  quota?: number;
  /** methods this app has no permission for: they get 40006 */
  forbiddenMethods?: string[];
  /** when set, answers carry alipay_cert_sn like certificate mode */
  certSn?: string;
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
  key?: string;
  code: string;
  subCode?: string;
  fault?: FaultKind;
}

export const DEFAULT_SANDBOX_APP_ID = '2021000000000001';

/**
 * A local stand-in for Alipay's OpenAPI v2 gateway, on loopback. It checks what Alipay checks (common
 * parameters, timestamp, request signature), signs its answers with "Alipay's" key, implements the methods
 * this tool speaks, and can inject faults. Usable in-process (tests) or as `alipay-sync sandbox`.
 */
export class SandboxGateway {
  readonly appId: string;
  readonly faults: FaultPlan;
  /** switched-on behaviours; change them at any time (or POST /_sandbox/behaviours) */
  readonly behaviours: Behaviours;
  readonly requests: LoggedRequest[] = [];
  readonly methods = new Map<string, SandboxMethod>();
  readonly borrowEntities: BorrowEntityMethod;
  readonly workerContracts = new WorkerContractMethod();
  readonly agreements: AgreementStore;
  /** notifications sent: where, for which agreement, what the receiver answered */
  readonly notifications: { url: string; agreement_no: string; status: number; body: string; type: NoticeType; notify_time: string }[] = [];
  private readonly sending = new Set<Promise<void>>();
  private server: Server | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** resolvers of sleeps, settled by stop() so that nothing waits on a cancelled timer */
  private readonly cancels = new Set<() => void>();
  private readonly wrongKey: KeyObject;
  /**
   * Signatures of answer texts already signed. RSA PKCS#1 v1.5 signatures are deterministic, so this changes
   * nothing a client can see; it keeps the sandbox from being the bottleneck when a benchmark measures the
   * client (most answers are the same `{"code":"10000","msg":"Success"}`).
   */
  private readonly signatures = new Map<string, string>();
  /** arrival times of the requests admitted under the quota, oldest first */
  private admitted: number[] = [];
  private readonly clock: () => number;

  constructor(private readonly options: SandboxOptions) {
    this.appId = options.appId ?? DEFAULT_SANDBOX_APP_ID;
    this.faults = new FaultPlan(options.faults);
    this.behaviours = { ...options.behaviours };
    this.clock = options.clock ?? Date.now;
    this.borrowEntities = new BorrowEntityMethod(options.sensitiveWord);
    this.addMethod(this.borrowEntities);
    this.addMethod(this.workerContracts);
    this.agreements = new AgreementStore(options.agreements ?? [], this.clock);
    // Like Alipay: an agreement made effective by a call that carried notify_url is announced there.
    this.addMethod(new AgreementEffectMethod(this.agreements, undefined, (a, ctx) => {
      if (ctx.params.notify_url) this.notify(ctx.params.notify_url, a);
    }));
    this.addMethod(new AgreementBatchQueryMethod(this.agreements));
    this.addMethod(new AgreementQueryMethod(this.agreements));
    // A key that is not Alipay's, for the wrong_key fault. 1024 bits: it only has to be wrong, not strong.
    this.wrongKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  }

  addMethod(m: SandboxMethod): void {
    this.methods.set(m.method, m);
  }

  get url(): string {
    const addr = this.server?.address() as AddressInfo | null;
    if (!addr) throw new Error('sandbox is not listening');
    return `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}/gateway.do`;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`sandbox error: ${(err as Error).message}`);
      });
    });
    server.keepAliveTimeout = 60_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.cancels) c();
    this.cancels.clear();
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /**
   * Send a signed notification for an agreement (dut_user_sign by default; dut_user_unsign with type 'unsign'),
   * after the answer (never blocking it), again until the receiver answers `success` or `notifyAttempts` is spent.
   * The form is built and dated now (`notifyTime` to date it otherwise) and sent after `delayMs`: a notice dated
   * before another can be made to arrive after it, and a resend after a failure arrives whenever its backoff says,
   * newer notices notwithstanding (Alipay's resends are not ordered either). Resolves when it is settled.
   */
  notify(url: string, agreement: AgreementRecord, type: NoticeType = 'sign', opts: { delayMs?: number; notifyTime?: string } = {}): Promise<void> {
    // A sign notice of an agreement cancelled since describes it as it was when it was live.
    const subject = type === 'sign' && agreement.status === 'UNSIGN'
      ? { ...agreement, status: 'NORMAL' as const, invalid_time: agreement.signed_invalid_time ?? DEFAULT_INVALID_TIME }
      : agreement;
    const notifyTime = opts.notifyTime ?? beijingTimestamp(this.clock());
    const form = signNotification(notificationFields(type, subject, this.appId, notifyTime), this.options.alipayPrivateKey);
    const attempts = this.options.notifyAttempts ?? 3;
    const p = (async () => {
      await new Promise((r) => setImmediate(r));
      if (opts.delayMs) await this.sleep(opts.delayMs);
      for (let i = 0; i < attempts; i++) {
        if (!this.server) return;
        const res = await sendNotification(url, form).catch((err: unknown) => ({ status: 0, body: String((err as Error).message) }));
        this.notifications.push({ url, agreement_no: agreement.agreement_no, status: res.status, body: res.body, type, notify_time: notifyTime });
        if (res.body === 'success' || !this.server) return;
        await this.sleep(50 * 2 ** i);
      }
    })();
    this.sending.add(p);
    void p.finally(() => this.sending.delete(p));
    return p;
  }

  /** A timer that stop() cancels (the promise then settles at once). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.cancels.delete(resolve);
        resolve();
      }, ms);
      this.timers.add(t);
      this.cancels.add(resolve);
    });
  }

  /** Wait for every notification under way to settle (tests). */
  async notificationsSettled(): Promise<void> {
    while (this.sending.size) await Promise.all([...this.sending]);
  }

  reset(): void {
    this.requests.length = 0;
    for (const m of this.methods.values()) m.reset();
  }

  /** requests per key for one method: how many times each business object was sent */
  requestCounts(method: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.requests) {
      if (r.method === method && r.key !== undefined) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
    }
    return counts;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const body = await readBody(req);
    if (url.pathname.startsWith('/_sandbox/')) return this.admin(url.pathname, req.method ?? 'GET', body, res);
    if (url.pathname !== '/gateway.do' || req.method !== 'POST') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: POST /gateway.do');
      return;
    }
    const params: Record<string, string> = {};
    for (const [k, v] of url.searchParams) params[k] = v;
    const ctype = String(req.headers['content-type'] ?? '');
    if (body.length && ctype.startsWith('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(body)) params[k] = v;
    }
    this.gateway(params, req, res);
  }

  private gateway(params: Record<string, string>, req: IncomingMessage, res: ServerResponse): void {
    const at = this.clock();
    const method = params.method ?? '';
    const log: LoggedRequest = { at, method, code: '' };
    this.requests.push(log);
    const handler = this.methods.get(method);
    const node = handler ? responseKey(method) : 'error_response';
    // Answers are signed with the algorithm the request was signed with (RSA: SHA1withRSA, RSA2: SHA256withRSA);
    // before the request's sign_type is known to be one of those, RSA2.
    const signType: SignType = isSignType(params.sign_type ?? '') ? (params.sign_type as SignType) : 'RSA2';
    const reply = (fields: MethodAnswer, opts: { signed?: boolean } = {}) => {
      log.code = fields.code;
      if (typeof fields.sub_code === 'string') log.subCode = fields.sub_code;
      this.answer(res, node, fields, opts.signed ?? true, undefined, signType);
    };
    const invalid = (sub: string, subMsg: string) => reply({ code: '40002', msg: 'Invalid Arguments', sub_code: sub, sub_msg: subMsg });

    for (const p of ['app_id', 'method', 'sign_type', 'sign', 'timestamp', 'version', 'charset'] as const) {
      if (!params[p]) {
        const sub = p === 'sign' ? 'isv.missing-signature' : p === 'sign_type' ? 'isv.missing-signature-type' : `isv.missing-${p.replace('_', '-')}`;
        return reply({ code: '40001', msg: 'Missing Required Arguments', sub_code: sub, sub_msg: `缺少参数 ${p}` });
      }
    }
    const { app_id: appId, sign_type: requestSignType, timestamp, charset, sign } = params as { app_id: string; sign_type: string; timestamp: string; charset: string; sign: string };
    if (appId !== this.appId) {
      // Alipay cannot tell which key to sign with for an unknown app: this one comes unsigned.
      log.code = '40002';
      log.subCode = 'isv.invalid-app-id';
      return this.answer(res, node, { code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-app-id', sub_msg: '无效的AppID参数' }, false, undefined, signType);
    }
    if (!handler) return invalid('isv.invalid-method', `不存在的方法名: ${method}`);
    if (params.format && params.format.toUpperCase() !== 'JSON') return invalid('isv.invalid-format', '无效的数据格式');
    if (params.version !== '1.0') return invalid('isv.invalid-version', '无效的版本号');
    if (charset.toLowerCase() !== 'utf-8') return invalid('isv.invalid-charset', '字符集错误');
    if (!isSignType(requestSignType)) return invalid('isv.invalid-signature-type', '无效的签名类型');
    const sent = parseBeijingTimestamp(timestamp);
    const tolerance = this.options.timestampToleranceMs ?? 15 * 60_000;
    if (Number.isNaN(sent) || Math.abs(sent - at) > tolerance) {
      return invalid('isv.invalid-timestamp', `非法的时间戳参数 (请求时间 ${timestamp}，网关为北京时间)`);
    }
    if (!verifyText(signString(params), sign, this.options.appPublicKey, signType)) {
      return invalid('isv.invalid-signature', `验签出错，网关生成的验签字符串为：${signString(params)}`);
    }
    const tokens = this.options.appAuthTokens;
    if (params.app_auth_token && tokens && !tokens.includes(params.app_auth_token)) {
      return reply({ code: '20001', msg: 'Insufficient Token Permissions', sub_code: 'aop.invalid-app-auth-token', sub_msg: '无效的应用授权令牌' });
    }
    if (this.options.forbiddenMethods?.includes(method)) {
      return reply({ code: '40006', msg: 'Insufficient Permissions', sub_code: 'isv.insufficient-isv-permissions', sub_msg: 'ISV权限不足' });
    }
    let biz: Record<string, unknown>;
    try {
      const parsed = JSON.parse(params.biz_content ?? '') as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      biz = parsed as Record<string, unknown>;
    } catch {
      return invalid('isv.invalid-biz-content', 'biz_content 不是合法的JSON对象');
    }
    const key = handler.keyOf(biz);
    if (key !== undefined) log.key = key;

    if (this.options.quota) {
      while (this.admitted.length && at - this.admitted[0]! >= 1000) this.admitted.shift();
      if (this.admitted.length >= this.options.quota) {
        log.fault = 'limited';
        return reply({ code: '40005', msg: 'Call Limited', sub_code: 'isv.app-call-limited', sub_msg: '应用调用频率超限' });
      }
      this.admitted.push(at);
    }
    const fault = this.faults.pick(params.biz_content ?? '');
    if (fault) log.fault = fault;
    switch (fault) {
      case 'unavailable':
        return reply({ code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error', sub_msg: '系统繁忙' });
      case 'limited':
        return reply({ code: '40005', msg: 'Call Limited', sub_code: 'isv.app-call-limited', sub_msg: '应用调用次数超限' });
      case 'system_error':
        return reply({ code: '40004', msg: 'Business Failed', sub_code: 'SYSTEM_ERROR', sub_msg: '系统繁忙' });
      case 'gbk_error':
        log.code = '20000';
        log.subCode = 'isp.unknow-error';
        return this.answer(res, node, { code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error', sub_msg: '系统繁忙' }, true, fault, signType);
      case 'invalid_parameter': {
        // A field of this request, by name: the first one that carries a value.
        const named = Object.keys(biz).find((k) => biz[k] !== undefined && biz[k] !== null && biz[k] !== '') ?? 'biz_content';
        return reply({ code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-parameter', sub_msg: `参数无效: ${named}` });
      }
      case 'http502':
        log.code = 'HTTP_502';
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html><body>502 Bad Gateway</body></html>');
        return;
      case 'http403':
      case 'http407':
      case 'http408':
      case 'http413':
      case 'http429':
      case 'html200':
        return this.proxyAnswer(res, fault, log);
      case 'drop':
        log.code = 'DROPPED';
        req.socket.destroy();
        return;
      default:
        break;
    }
    const fields = handler.handle({ appId, biz, params, now: at, behaviours: this.behaviours });
    log.code = fields.code;
    if (typeof fields.sub_code === 'string') log.subCode = fields.sub_code;
    if (fault === 'slow') {
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!res.destroyed) this.answer(res, node, fields, true, undefined, signType);
      }, this.faults.slowMs);
      this.timers.add(t);
      return;
    }
    this.answer(res, node, fields, true, fault ?? undefined, signType);
  }

  /** A signature of `text`, from the cache when the same text was signed before with the same algorithm. */
  private signOf(text: string, signType: SignType): string {
    const id = `${signType}\u0000${text}`;
    let sign = this.signatures.get(id);
    if (sign === undefined) {
      sign = signText(text, this.options.alipayPrivateKey, signType);
      if (this.signatures.size < 10_000 && text.length < 65_536) this.signatures.set(id, sign);
    }
    return sign;
  }

  /**
   * Serialise and sign like Alipay: the signature covers the exact text of the response node. Alipay escapes '/'
   * in its JSON (a client that re-serialises parsed JSON before verifying fails here); by default the signature
   * covers that escaped text. With the behaviour unescapedSlash the body still has '\/' but the signature covers
   * the text with plain '/', which the Java and PHP SDKs retry for.
   */
  private answer(res: ServerResponse, node: string, fields: Record<string, unknown>, signed: boolean, fault: FaultKind | undefined, signType: SignType): void {
    if (fault === 'oversized') fields = this.padded(node, fields, signType);
    const plain = JSON.stringify(fields);
    let raw = plain.replaceAll('/', '\\/');
    const covered = this.behaviours.unescapedSlash ? plain : raw;
    let sign: string | undefined = signed ? this.signOf(covered, signType) : undefined;
    if (fault === 'wrong_key') sign = signText(covered, this.wrongKey, signType);
    if (fault === 'unsigned') sign = undefined;
    if (fault === 'tamper') raw = raw.replace('"code":"', '"code": "').replace('}', ',"note":"altered"}');
    let text = `{"${node}":${raw}`;
    if (fault === 'duplicate_key') text += `,"${node}":${JSON.stringify({ code: '10000', msg: 'Success' })}`;
    if (this.options.certSn) text += `,"alipay_cert_sn":${JSON.stringify(this.options.certSn)}`;
    if (sign !== undefined) text += `,"sign":${JSON.stringify(sign)}`;
    text += '}';
    if (fault === 'gbk_error') {
      // The body in GBK, as a front end in the GBK world answers; the signature covers the text (the characters)
      // in the request's charset, UTF-8 here, as the Java SDK checks it (rsaCheck(content, sign, key, charset)):
      // a client must decode the body by the header's charset before it verifies.
      const body = iconv.encode(text, 'gbk');
      res.writeHead(200, { 'content-type': 'text/html;charset=GBK', 'content-length': body.length });
      res.end(body);
      return;
    }
    if (fault === 'trickle') return this.trickle(res, Buffer.from(text, 'utf8'));
    res.writeHead(200, { 'content-type': 'text/html;charset=utf-8' });
    res.end(text);
  }

  /** The answer's fields with a `sandbox_padding` string that brings the whole body to oversizedBytes (at least). */
  private padded(node: string, fields: Record<string, unknown>, signType: SignType): Record<string, unknown> {
    const probe = { ...fields, sandbox_padding: '' };
    const sign = signText('x', this.options.alipayPrivateKey, signType);
    let overhead = `{"${node}":${JSON.stringify(probe).replaceAll('/', '\\/')},"sign":${JSON.stringify(sign)}}`.length;
    if (this.options.certSn) overhead += `,"alipay_cert_sn":${JSON.stringify(this.options.certSn)}`.length;
    const pad = Math.max(0, this.faults.oversizedBytes - overhead);
    // Letters and digits only: nothing to escape, one byte per character, so the body is exactly oversizedBytes.
    return { ...fields, sandbox_padding: 'sandbox0123456789'.repeat(Math.ceil(pad / 17)).slice(0, pad) };
  }

  /** Send `body` one byte every trickleMs (headers at once, with the full Content-Length). */
  private trickle(res: ServerResponse, body: Buffer): void {
    res.writeHead(200, { 'content-type': 'text/html;charset=utf-8', 'content-length': body.length });
    res.flushHeaders();
    let i = 0;
    const step = () => {
      if (res.destroyed || !this.server) return;
      const last = i === body.length - 1;
      res.write(body.subarray(i, i + 1));
      i++;
      if (last) {
        res.end();
        return;
      }
      const t = setTimeout(() => {
        this.timers.delete(t);
        step();
      }, this.faults.trickleMs);
      this.timers.add(t);
    };
    step();
  }

  /** What a proxy, WAF or load balancer in front of the gateway answers: HTTP errors and HTML pages, never JSON. */
  private proxyAnswer(res: ServerResponse, fault: 'http403' | 'http407' | 'http408' | 'http413' | 'http429' | 'html200', log: LoggedRequest): void {
    const page = (title: string, text: string) =>
      `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p><hr><address>Tengine</address></body></html>\n`;
    const html = { 'content-type': 'text/html;charset=utf-8' };
    const send = (status: number, headers: Record<string, string>, body: string) => {
      log.code = fault === 'html200' ? 'HTML_200' : `HTTP_${status}`;
      res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    };
    switch (fault) {
      case 'http403':
        return send(403, html, page('403 Forbidden', 'You don\'t have permission to access the URL on this server.'));
      case 'http407':
        return send(407, { ...html, 'proxy-authenticate': 'Basic realm="proxy"' }, page('407 Proxy Authentication Required', 'The proxy needs your credentials.'));
      case 'http408':
        return send(408, { ...html, connection: 'close' }, page('408 Request Timeout', 'The server timed out waiting for the request.'));
      case 'http413':
        return send(413, html, page('413 Request Entity Too Large', 'The request body is larger than the server allows.'));
      case 'http429':
        return send(429, { ...html, 'retry-after': '1' }, page('429 Too Many Requests', 'Too many requests, try again later.'));
      case 'html200':
        return send(200, html, page('系统繁忙', '系统繁忙，请稍后再试。'));
    }
  }

  private admin(path: string, method: string, body: string, res: ServerResponse): void {
    const json = (v: unknown, status = 200) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    if (path === '/_sandbox/state') {
      const out: Record<string, unknown> = {};
      for (const [name, m] of this.methods) out[name] = m.snapshot();
      return json(out);
    }
    if (path === '/_sandbox/requests') return json(this.requests);
    if (path === '/_sandbox/notifications') return json(this.notifications);
    if (path === '/_sandbox/notify' && method === 'POST') {
      try {
        const sent = this.adminNotify(JSON.parse(body || '{}') as unknown);
        return json({ ok: true, notices: sent });
      } catch (err) {
        return json({ error: (err as Error).message }, 400);
      }
    }
    if (path === '/_sandbox/reset' && method === 'POST') {
      this.reset();
      return json({ ok: true });
    }
    if (path === '/_sandbox/faults' && method === 'POST') {
      try {
        this.faults.set(JSON.parse(body || '{}') as FaultOptions);
        return json({ ok: true });
      } catch (err) {
        return json({ error: (err as Error).message }, 400);
      }
    }
    if (path === '/_sandbox/behaviours') {
      if (method === 'POST') {
        try {
          const given = JSON.parse(body || '{}') as Record<string, unknown>;
          for (const [k, v] of Object.entries(given)) {
            if (!(BEHAVIOUR_NAMES as readonly string[]).includes(k) || typeof v !== 'boolean') {
              throw new Error(`expected {"<behaviour>": true|false}, behaviours: ${BEHAVIOUR_NAMES.join(', ')}`);
            }
          }
          for (const [k, v] of Object.entries(given)) this.behaviours[k as BehaviourName] = v as boolean;
        } catch (err) {
          return json({ error: (err as Error).message }, 400);
        }
      }
      return json(this.behaviours);
    }
    json({ error: 'unknown admin path' }, 404);
  }

  /**
   * POST /_sandbox/notify. One notice:
   *   {"url": "...", "agreement_no": "...", "type": "sign"|"unsign", "delay_ms": 0, "age_ms": 0}
   * or several for one agreement, each built and dated when this request arrives and sent after its own delay:
   *   {"url": "...", "agreement_no": "...", "notices": [{"type": "unsign"}, {"type": "sign", "age_ms": 60000, "delay_ms": 200}]}
   * type defaults to "sign". "unsign" cancels the agreement first (status UNSIGN, invalid_time now; every method then
   * answers USER_AGREEMENT_NOT_EXIST for it) and sends dut_user_unsign. age_ms dates a notice that much before now
   * (notify_time), so the example sends the newer unsign notice first and the older sign notice 200 ms after it.
   */
  private adminNotify(input: unknown): { type: NoticeType; notify_time: string; delay_ms: number }[] {
    if (!input || typeof input !== 'object' || Array.isArray(input)) throw new Error('expected a JSON object');
    const o = input as Record<string, unknown>;
    const url = o.url;
    const no = o.agreement_no;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url) || typeof no !== 'string' || !this.agreements.get(no)) {
      throw new Error('give url (http or https) and a known agreement_no');
    }
    const list = Array.isArray(o.notices) ? (o.notices as unknown[]) : [{ type: o.type, delay_ms: o.delay_ms, age_ms: o.age_ms }];
    const plan = list.map((n, i) => {
      const e = (n && typeof n === 'object' ? n : {}) as Record<string, unknown>;
      const type = e.type ?? 'sign';
      const num = (v: unknown, name: string) => {
        if (v === undefined) return 0;
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`notices[${i}].${name} must be a number of ms, 0 or more`);
        return v;
      };
      if (type !== 'sign' && type !== 'unsign') throw new Error(`notices[${i}].type must be "sign" or "unsign"`);
      return { type: type as NoticeType, delay_ms: num(e.delay_ms, 'delay_ms'), age: num(e.age_ms, 'age_ms') };
    });
    const now = this.clock();
    return plan.map((n) => {
      const a = n.type === 'unsign' ? this.agreements.unsign(no, now) : (this.agreements.get(no) as AgreementRecord);
      const notifyTime = beijingTimestamp(now - n.age);
      void this.notify(url, a, n.type, { delayMs: n.delay_ms, notifyTime });
      return { type: n.type, notify_time: notifyTime, delay_ms: n.delay_ms };
    });
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 4 * 1024 * 1024) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
