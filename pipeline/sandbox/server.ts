/**
 * The sandbox gateway: its parts, its lifecycle and its HTTP routing. One concept a file:
 *   - options.ts: SandboxOptions, the request log's entries;
 *   - gateway-call.ts: one POST /gateway.do call, with common-params.ts (the common-parameter checks),
 *     quota.ts (the call quotas), merchants.ts (who a token stands for) and proxy-pages.ts (what a proxy in front answers);
 *   - answers.ts: answers serialised and signed like Alipay's;
 *   - admin.ts: the /_sandbox/ endpoints;
 *   - notifier.ts: notifications to a notify_url;
 *   - timers.ts: the timers stop() cancels.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminRequest, type AdminTarget } from './admin.js';
import { AnswerWriter } from './answers.js';
import type { Behaviours } from './behaviours.js';
import { FaultPlan } from './faults.js';
import { gatewayCall, type GatewayCallSetup } from './gateway-call.js';
import { AlipayCertDownloadMethod } from './methods/alipaycert-download.js';
import { BorrowEntityMethod } from './methods/borrow-entity.js';
import { WorkerContractMethod } from './methods/worker-contract.js';
import { AgreementBatchQueryMethod, AgreementEffectMethod, AgreementQueryMethod, AgreementStore, type AgreementRecord } from './methods/agreements.js';
import type { SandboxMethod } from './methods/types.js';
import { Notifier, type SentNotification } from './notifier.js';
import type { NoticeType } from './notify-sender.js';
import { DEFAULT_SANDBOX_APP_ID, type LoggedRequest, type SandboxOptions } from './options.js';
import { CallQuota } from './quota.js';
import { Timers } from './timers.js';

export { DEFAULT_SANDBOX_APP_ID, type LoggedRequest, type SandboxOptions } from './options.js';

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
  readonly notifications: SentNotification[];
  /** the call quotas (per second, per day; of the app and of each merchant): change `quota.limits` at any time */
  readonly quota: CallQuota;
  private server: Server | null = null;
  private readonly timers = new Timers();
  private readonly notifier: Notifier;
  private readonly calls: GatewayCallSetup;
  private readonly admin: AdminTarget;
  private readonly clock: () => number;

  constructor(private readonly options: SandboxOptions) {
    this.appId = options.appId ?? DEFAULT_SANDBOX_APP_ID;
    this.faults = new FaultPlan(options.faults);
    this.behaviours = { ...options.behaviours };
    this.clock = options.clock ?? Date.now;
    const live = () => this.server !== null;
    this.notifier = new Notifier({ appId: this.appId, options, clock: this.clock, timers: this.timers, live, behaviours: this.behaviours });
    this.notifications = this.notifier.sent;
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
    this.addMethod(new AlipayCertDownloadMethod(options.certMode));
    const answers = new AnswerWriter({ options, faults: this.faults, behaviours: this.behaviours, timers: this.timers, live });
    this.quota = new CallQuota({ perSecond: options.quota, perDay: options.dailyQuota, merchantPerSecond: options.merchantQuota, merchantPerDay: options.merchantDailyQuota });
    this.calls = {
      appId: this.appId, options, clock: this.clock, methods: this.methods, requests: this.requests, faults: this.faults,
      behaviours: this.behaviours, answers, timers: this.timers, quota: this.quota,
      calls: { count: 0 },
    };
    this.admin = {
      methods: this.methods, requests: this.requests, faults: this.faults, behaviours: this.behaviours, agreements: this.agreements,
      notifier: this.notifier, clock: this.clock, reset: () => this.reset(), quota: this.quota, certMode: options.certMode,
    };
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
    this.timers.cancelAll();
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /**
   * Send a signed notification for an agreement (dut_user_sign by default; dut_user_unsign with type 'unsign'),
   * after the answer, again until the receiver answers `success`; see Notifier.notify. Resolves when it is settled.
   */
  notify(url: string, agreement: AgreementRecord, type: NoticeType = 'sign', opts: { delayMs?: number; notifyTime?: string } = {}): Promise<void> {
    return this.notifier.notify(url, agreement, type, opts);
  }

  /** Wait for every notification under way to settle (tests). */
  async notificationsSettled(): Promise<void> {
    await this.notifier.settled();
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
    if (url.pathname.startsWith('/_sandbox/')) return adminRequest(this.admin, url.pathname, req.method ?? 'GET', body, res);
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
    gatewayCall(this.calls, params, req, res);
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
