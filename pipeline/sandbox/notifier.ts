/**
 * The gateway's notifications to a merchant's notify_url: dut_user_sign when an agreement turns NORMAL through a
 * call that carried notify_url, and whatever POST /_sandbox/notify asks for (admin.ts). The forms themselves are
 * notify-sender.ts's.
 */
import { beijingTimestamp } from '../alipay/sign.js';
import type { Behaviours } from './behaviours.js';
import { DEFAULT_INVALID_TIME, type AgreementRecord } from './methods/agreements.js';
import { notificationFields, sendNotification, signNotification, type NoticeType } from './notify-sender.js';
import type { SandboxOptions } from './options.js';
import type { Timers } from './timers.js';

/** A notification sent: where, for which agreement, what the receiver answered. */
export interface SentNotification {
  url: string;
  agreement_no: string;
  status: number;
  body: string;
  type: NoticeType;
  notify_time: string;
}

export interface NotifierSetup {
  appId: string;
  options: Pick<SandboxOptions, 'alipayPrivateKey' | 'notifyAttempts'>;
  clock: () => number;
  timers: Timers;
  /** whether the gateway is still listening: nothing is sent once it has stopped */
  live: () => boolean;
  /** the gateway's behaviours, read when a notice is built (openId: it names the user by open id) */
  behaviours?: Behaviours;
}

export class Notifier {
  /** notifications sent, in the order they were */
  readonly sent: SentNotification[] = [];
  private readonly sending = new Set<Promise<void>>();

  constructor(private readonly setup: NotifierSetup) {}

  /**
   * Send a signed notification for an agreement (dut_user_sign by default; dut_user_unsign with type 'unsign'),
   * after the answer (never blocking it), again until the receiver answers `success` or `notifyAttempts` is spent.
   * The form is built and dated now (`notifyTime` to date it otherwise) and sent after `delayMs`: a notice dated
   * before another can be made to arrive after it, and a resend after a failure arrives whenever its backoff says,
   * newer notices notwithstanding (Alipay's resends are not ordered either). Resolves when it is settled.
   */
  notify(url: string, agreement: AgreementRecord, type: NoticeType = 'sign', opts: { delayMs?: number; notifyTime?: string } = {}): Promise<void> {
    const { options, timers, live } = this.setup;
    // A sign notice of an agreement cancelled since describes it as it was when it was live.
    const subject = type === 'sign' && agreement.status === 'UNSIGN'
      ? { ...agreement, status: 'NORMAL' as const, invalid_time: agreement.signed_invalid_time ?? DEFAULT_INVALID_TIME }
      : agreement;
    const notifyTime = opts.notifyTime ?? beijingTimestamp(this.setup.clock());
    const openIdApp = this.setup.behaviours?.openId === true;
    const form = signNotification(notificationFields(type, subject, this.setup.appId, notifyTime, openIdApp), options.alipayPrivateKey);
    const attempts = options.notifyAttempts ?? 3;
    const p = (async () => {
      await new Promise((r) => setImmediate(r));
      if (opts.delayMs) await timers.sleep(opts.delayMs);
      for (let i = 0; i < attempts; i++) {
        if (!live()) return;
        const res = await sendNotification(url, form).catch((err: unknown) => ({ status: 0, body: String((err as Error).message) }));
        this.sent.push({ url, agreement_no: agreement.agreement_no, status: res.status, body: res.body, type, notify_time: notifyTime });
        if (res.body === 'success' || !live()) return;
        await timers.sleep(50 * 2 ** i);
      }
    })();
    this.sending.add(p);
    void p.finally(() => this.sending.delete(p));
    return p;
  }

  /** Wait for every notification under way to settle. */
  async settled(): Promise<void> {
    while (this.sending.size) await Promise.all([...this.sending]);
  }
}
