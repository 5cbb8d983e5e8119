import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseBeijingTimestamp, signString, signText, verifyText, isSignType, type SignType } from '../alipay/sign.js';
import { responseKeyFor } from '../alipay/response.js';
import { FaultPlan, type FaultKind, type FaultOptions } from './faults.js';
import { BorrowEntityMethod } from './methods/borrow-entity.js';
import { WorkerContractMethod } from './methods/worker-contract.js';
import { AgreementBatchQueryMethod, AgreementEffectMethod, AgreementStore, type AgreementRecord, type SeedAgreement } from './methods/agreements.js';
import { dutUserSignNotification, sendNotification, signNotification } from './notify-sender.js';
import type { MethodAnswer, SandboxMethod } from './methods/types.js';

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
  readonly requests: LoggedRequest[] = [];
  readonly methods = new Map<string, SandboxMethod>();
  readonly borrowEntities: BorrowEntityMethod;
  readonly workerContracts = new WorkerContractMethod();
  readonly agreements: AgreementStore;
  /** notifications sent: where, for which agreement, what the receiver answered */
  readonly notifications: { url: string; agreement_no: string; status: number; body: string }[] = [];
  private readonly sending = new Set<Promise<void>>();
  private server: Server | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
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
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /**
   * Send a signed dut_user_sign notification for an agreement, after the answer (never blocking it), again
   * until the receiver answers `success` or `notifyAttempts` is spent. Resolves when it is settled.
   */
  notify(url: string, agreement: AgreementRecord): Promise<void> {
    const form = signNotification(dutUserSignNotification(agreement, this.appId), this.options.alipayPrivateKey);
    const attempts = this.options.notifyAttempts ?? 3;
    const p = (async () => {
      await new Promise((r) => setImmediate(r));
      for (let i = 0; i < attempts; i++) {
        const res = await sendNotification(url, form).catch((err: unknown) => ({ status: 0, body: String((err as Error).message) }));
        this.notifications.push({ url, agreement_no: agreement.agreement_no, status: res.status, body: res.body });
        if (res.body === 'success' || !this.server) return;
        await new Promise((r) => setTimeout(r, 50 * 2 ** i));
      }
    })();
    this.sending.add(p);
    void p.finally(() => this.sending.delete(p));
    return p;
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
    const node = handler ? responseKeyFor(method) : 'error_response';
    const reply = (fields: MethodAnswer, opts: { signed?: boolean } = {}) => {
      log.code = fields.code;
      if (typeof fields.sub_code === 'string') log.subCode = fields.sub_code;
      this.answer(res, node, fields, opts.signed ?? true, undefined);
    };
    const invalid = (sub: string, subMsg: string) => reply({ code: '40002', msg: 'Invalid Arguments', sub_code: sub, sub_msg: subMsg });

    for (const p of ['app_id', 'method', 'sign_type', 'sign', 'timestamp', 'version', 'charset'] as const) {
      if (!params[p]) {
        const sub = p === 'sign' ? 'isv.missing-signature' : p === 'sign_type' ? 'isv.missing-signature-type' : `isv.missing-${p.replace('_', '-')}`;
        return reply({ code: '40001', msg: 'Missing Required Arguments', sub_code: sub, sub_msg: `缺少参数 ${p}` });
      }
    }
    const { app_id: appId, sign_type: signType, timestamp, charset, sign } = params as { app_id: string; sign_type: string; timestamp: string; charset: string; sign: string };
    if (appId !== this.appId) {
      // Alipay cannot tell which key to sign with for an unknown app: this one comes unsigned.
      log.code = '40002';
      log.subCode = 'isv.invalid-app-id';
      return this.answer(res, node, { code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-app-id', sub_msg: '无效的AppID参数' }, false, undefined);
    }
    if (!handler) return invalid('isv.invalid-method', `不存在的方法名: ${method}`);
    if (params.format && params.format.toUpperCase() !== 'JSON') return invalid('isv.invalid-format', '无效的数据格式');
    if (params.version !== '1.0') return invalid('isv.invalid-version', '无效的版本号');
    if (charset.toLowerCase() !== 'utf-8') return invalid('isv.invalid-charset', '字符集错误');
    if (!isSignType(signType)) return invalid('isv.invalid-signature-type', '无效的签名类型');
    const sent = parseBeijingTimestamp(timestamp);
    const tolerance = this.options.timestampToleranceMs ?? 15 * 60_000;
    if (Number.isNaN(sent) || Math.abs(sent - at) > tolerance) {
      return invalid('isv.invalid-timestamp', `非法的时间戳参数 (请求时间 ${timestamp}，网关为北京时间)`);
    }
    if (!verifyText(signString(params), sign, this.options.appPublicKey, signType as SignType)) {
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
      case 'http502':
        log.code = 'HTTP_502';
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html><body>502 Bad Gateway</body></html>');
        return;
      case 'drop':
        log.code = 'DROPPED';
        req.socket.destroy();
        return;
      default:
        break;
    }
    const fields = handler.handle({ appId, biz, params, now: at });
    log.code = fields.code;
    if (typeof fields.sub_code === 'string') log.subCode = fields.sub_code;
    if (fault === 'slow') {
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!res.destroyed) this.answer(res, node, fields, true, undefined);
      }, this.faults.slowMs);
      this.timers.add(t);
      return;
    }
    this.answer(res, node, fields, true, fault ?? undefined);
  }

  /** Serialise and sign like Alipay: the signature covers the exact text of the response node. */
  private answer(res: ServerResponse, node: string, fields: Record<string, unknown>, signed: boolean, fault: FaultKind | undefined): void {
    // Alipay escapes '/' in its JSON: a client that re-serialises parsed JSON before verifying would fail here.
    let raw = JSON.stringify(fields).replaceAll('/', '\\/');
    let sign: string | undefined;
    if (signed) {
      sign = this.signatures.get(raw);
      if (sign === undefined) {
        sign = signText(raw, this.options.alipayPrivateKey);
        if (this.signatures.size < 10_000) this.signatures.set(raw, sign);
      }
    }
    if (fault === 'wrong_key') sign = signText(raw, this.wrongKey);
    if (fault === 'unsigned') sign = undefined;
    if (fault === 'tamper') raw = raw.replace('"code":"', '"code": "').replace('}', ',"note":"altered"}');
    let text = `{"${node}":${raw}`;
    if (fault === 'duplicate_key') text += `,"${node}":${JSON.stringify({ code: '10000', msg: 'Success' })}`;
    if (this.options.certSn) text += `,"alipay_cert_sn":${JSON.stringify(this.options.certSn)}`;
    if (sign !== undefined) text += `,"sign":${JSON.stringify(sign)}`;
    text += '}';
    res.writeHead(200, { 'content-type': 'text/html;charset=utf-8' });
    res.end(text);
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
    if (path === '/_sandbox/notify' && method === 'POST') {
      // {"url": "...", "agreement_no": "..."}: send that agreement's dut_user_sign notification now
      try {
        const { url, agreement_no: no } = JSON.parse(body || '{}') as { url?: string; agreement_no?: string };
        const a = no ? this.agreements.get(no) : undefined;
        if (!url || !a) return json({ error: 'give url and a known agreement_no' }, 400);
        void this.notify(url, a);
        return json({ ok: true });
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
    json({ error: 'unknown admin path' }, 404);
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
