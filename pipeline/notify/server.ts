import type { KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ledger } from '../../state/ledger.js';
import { agreementFromAnswer } from '../agreements.js';
import type { Logger } from '../log.js';
import { parseNotificationBody, verifyNotification } from './verify.js';

export interface NotifyServerOptions {
  ledgerPath: string;
  alipayPublicKey: KeyObject;
  /** when set, notifications for any other app_id are refused */
  appId?: string;
  host?: string;
  port?: number;
  logger: Logger;
}

export interface NotifyOutcome {
  status: number;
  body: 'success' | 'fail';
  /** what happened, for logs and tests: applied, resend, ignored, refused */
  result: 'applied' | 'resend' | 'ignored' | 'refused';
}

/**
 * `alipay-sync notify serve`: receives Alipay's dut_user_sign notifications. Each is verified with the Alipay
 * public key before anything is stored; a verified one updates the agreement in the ledger and is answered
 * `success`. Anything else is answered `fail` (Alipay then sends it again, about 8 times over 25 hours) and
 * logged, never stored. Resends of an applied notification (same notify_id) change nothing.
 * The ledger is shared with runs: this server writes in short transactions and takes no run lock.
 */
export class NotifyServer {
  private server: Server | null = null;
  private readonly ledger: Ledger;
  received = 0;

  constructor(private readonly o: NotifyServerOptions) {
    this.ledger = new Ledger(o.ledgerPath);
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) throw new Error('not listening');
    return `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}/`;
  }

  /** Handle one decoded form (the HTTP layer calls this; tests may too). */
  handle(form: Record<string, string>): NotifyOutcome {
    this.received++;
    const log = this.o.logger;
    const check = verifyNotification(form, this.o.alipayPublicKey);
    // Field values are never logged: a notification names a person's account. agreement_no and status are not personal.
    const who = form.agreement_no ? `agreement ${form.agreement_no}` : 'a notification without agreement_no';
    if (!check.ok) {
      log.warn(`refused ${who}: ${check.reason}`);
      return { status: 400, body: 'fail', result: 'refused' };
    }
    if (this.o.appId && form.app_id !== this.o.appId) {
      log.warn(`refused ${who}: it is for app ${form.app_id ?? '(none)'}, not ${this.o.appId}`);
      return { status: 400, body: 'fail', result: 'refused' };
    }
    if (form.notify_type !== 'dut_user_sign') {
      log.info(`ignored a verified ${form.notify_type ?? 'untyped'} notification (only dut_user_sign is handled)`);
      return { status: 200, body: 'success', result: 'ignored' };
    }
    const agreement = agreementFromAnswer(form);
    if (!agreement) {
      log.warn(`refused ${who}: no agreement_no or status`);
      return { status: 400, body: 'fail', result: 'refused' };
    }
    const notifyId = form.notify_id || `${agreement.agreement_no}|${agreement.status}|${form.notify_time ?? ''}`;
    // Not stored as fields: the signature envelope and the user's login at the merchant.
    for (const k of ['sign', 'sign_type', 'notify_id', 'notify_time', 'notify_type']) delete agreement.fields[k];
    const applied = this.ledger.applyNotification(notifyId, agreement);
    log.info(`${applied ? 'applied' : 'resend of'} dut_user_sign for agreement ${agreement.agreement_no}: ${agreement.status}`);
    return { status: 200, body: 'success', result: applied ? 'applied' : 'resend' };
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      if (req.method !== 'POST') {
        res.writeHead(405, { 'content-type': 'text/plain', allow: 'POST' });
        res.end('fail');
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 64 * 1024) req.destroy();
        else chunks.push(c);
      });
      req.on('end', () => {
        let out: NotifyOutcome;
        try {
          out = this.handle(parseNotificationBody(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          this.o.logger.error(`notification not stored: ${(err as Error).message}`);
          out = { status: 500, body: 'fail', result: 'refused' };
        }
        res.writeHead(out.status, { 'content-type': 'text/plain;charset=utf-8' });
        res.end(out.body);
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port ?? 0, this.o.host ?? '127.0.0.1', () => resolve());
    });
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    this.ledger.close();
  }
}
