import type { KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ledger } from '../../state/ledger.js';
import { agreementFromAnswer } from '../agreements.js';
import type { Logger } from '../log.js';
import { decodeNotificationBody, verifyNotification } from './verify.js';

export interface NotifyServerOptions {
  ledgerPath: string;
  alipayPublicKey: KeyObject;
  /** when set, notifications for any other app_id are refused */
  appId?: string;
  host?: string;
  port?: number;
  logger: Logger;
  /** told what became of every notification received (metrics) */
  onResult?: (result: NotifyOutcome['result']) => void;
}

export interface NotifyOutcome {
  status: number;
  body: 'success' | 'fail';
  /**
   * what happened, for logs and tests: applied; stale (verified, but older than the state held: kept as history,
   * changed nothing); resend (same notify_id as one received); ignored (a verified type not handled); refused.
   */
  result: 'applied' | 'stale' | 'resend' | 'ignored' | 'refused';
}

/** The agreement notifications applied to the ledger: signed (NORMAL…) and unsigned (UNSIGN). */
const AGREEMENT_NOTIFY_TYPES: ReadonlySet<string> = new Set(['dut_user_sign', 'dut_user_unsign']);

/** Envelope fields of a notification: not part of what it says about the agreement. */
const ENVELOPE = ['sign', 'sign_type', 'notify_id', 'notify_time', 'notify_type', 'charset', 'version'] as const;

/**
 * `alipay-sync notify serve`: receives Alipay's dut_user_sign and dut_user_unsign notifications. Each body is
 * decoded once by the charset it declares, then verified with the Alipay public key before anything is stored; a
 * verified one is applied to the agreement in the ledger in the order of its own time fields (an older one, a late
 * resend, is kept as history and changes nothing: state/agreement-order.ts) and answered `success`. Anything else
 * is answered `fail` (Alipay then sends it again, about 8 times over 25 hours) and logged, never stored. Resends
 * of a received notification (same notify_id) change nothing.
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

  /** Handle one body as received (bytes and Content-Type): decoded once by its charset, then as handle(). */
  handleBody(raw: Buffer, contentType?: string): NotifyOutcome {
    const decoded = decodeNotificationBody(raw, contentType);
    if (!decoded.ok) {
      this.received++;
      this.o.logger.warn(`refused a notification: ${decoded.reason}`);
      return { status: 400, body: 'fail', result: 'refused' };
    }
    return this.handle(decoded.form);
  }

  /** Handle one decoded form (the HTTP layer calls handleBody; tests may call either). */
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
    const type = form.notify_type ?? '';
    if (!AGREEMENT_NOTIFY_TYPES.has(type)) {
      log.info(`ignored a verified ${type || 'untyped'} notification (only dut_user_sign and dut_user_unsign are handled)`);
      return { status: 200, body: 'success', result: 'ignored' };
    }
    // An unsign notice says UNSIGN (解约); should one come without a status, that is still what it announces.
    const agreement = agreementFromAnswer(type === 'dut_user_unsign' && !form.status ? { ...form, status: 'UNSIGN' } : form);
    if (!agreement) {
      log.warn(`refused ${who}: no agreement_no or status`);
      return { status: 400, body: 'fail', result: 'refused' };
    }
    const notifyId = form.notify_id || `${agreement.agreement_no}|${agreement.status}|${form.notify_time ?? ''}`;
    // Not stored as fields: the signature envelope (agreementFromAnswer already left out the user's login at the merchant).
    for (const k of ENVELOPE) delete agreement.fields[k];
    const done = this.ledger.applyNotification(notifyId, agreement, form.notify_time);
    const what = `${type} for agreement ${agreement.agreement_no}: ${agreement.status}`;
    if (done.result === 'applied') log.info(`applied ${what}${done.changed ? '' : ' (status unchanged)'}`);
    else if (done.result === 'stale') log.info(`kept ${what} as history only: it is older than the state the ledger holds`);
    else log.info(`resend of ${what}: nothing to do`);
    return { status: 200, body: 'success', result: done.result };
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
          out = this.handleBody(Buffer.concat(chunks), req.headers['content-type']);
        } catch (err) {
          this.o.logger.error(`notification not stored: ${(err as Error).message}`);
          out = { status: 500, body: 'fail', result: 'refused' };
        }
        this.o.onResult?.(out.result);
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
