/**
 * The call quotas: requests per second (a sliding one-second window) and per day (the Beijing calendar day of the
 * gateway's clock), for the app and for each merchant it calls for. Beyond any, Alipay answers 40005; a request
 * refused counts against none. The wording of a spent day's sub_msg is the sandbox's own (Alipay publishes none):
 * it speaks of the day (当日), as the client's detection (pipeline/rate/daily.ts) expects of a sub_msg that tells.
 */
import type { MethodAnswer } from './methods/types.js';

export interface QuotaLimits {
  /** per app, per second */
  perSecond?: number | undefined;
  /** per app, per day */
  perDay?: number | undefined;
  /** per merchant (app_auth_token), per second */
  merchantPerSecond?: number | undefined;
  /** per merchant, per day */
  merchantPerDay?: number | undefined;
}

const PER_SECOND: MethodAnswer = { code: '40005', msg: 'Call Limited', sub_code: 'isv.app-call-limited', sub_msg: '应用调用频率超限' };
const PER_DAY: MethodAnswer = { code: '40005', msg: 'Call Limited', sub_code: 'isv.app-call-limited', sub_msg: '应用当日调用次数已超过限额' };

function beijingDay(at: number): string {
  return new Date(at + 8 * 3600_000).toISOString().slice(0, 10);
}

export class CallQuota {
  /** arrival times of the requests admitted in the last second, per key ('' the app, else a merchant) */
  private readonly seconds = new Map<string, number[]>();
  /** requests admitted per key on one Beijing day */
  private readonly days = new Map<string, number>();

  constructor(readonly limits: QuotaLimits) {}

  get active(): boolean {
    const l = this.limits;
    return Boolean(l.perSecond || l.perDay || l.merchantPerSecond || l.merchantPerDay);
  }

  /** Admit a request arriving at `at` for `merchant` ('' for none): null, or the 40005 that refuses it. */
  admit(at: number, merchant: string): MethodAnswer | null {
    const l = this.limits;
    const day = beijingDay(at);
    const keys: [string, number | undefined, number | undefined][] = [['', l.perSecond, l.perDay]];
    if (merchant) keys.push([merchant, l.merchantPerSecond, l.merchantPerDay]);
    for (const [key, , perDay] of keys) if (perDay && (this.days.get(`${day}|${key}`) ?? 0) >= perDay) return PER_DAY;
    for (const [key, perSecond] of keys) {
      if (!perSecond) continue;
      const w = this.window(key, at);
      if (w.length >= perSecond) return PER_SECOND;
    }
    for (const [key, perSecond, perDay] of keys) {
      if (perSecond) this.window(key, at).push(at);
      if (perDay) this.days.set(`${day}|${key}`, (this.days.get(`${day}|${key}`) ?? 0) + 1);
    }
    return null;
  }

  private window(key: string, at: number): number[] {
    let w = this.seconds.get(key);
    if (!w) this.seconds.set(key, (w = []));
    while (w.length && at - w[0]! >= 1000) w.shift();
    return w;
  }

  /** The reset switch: every day's count starts again (as at 00:00 Beijing time), without waiting for it. */
  resetDay(): void {
    this.days.clear();
  }

  /** What was admitted today, per key (the admin endpoint). */
  today(at: number): Record<string, number> {
    const day = beijingDay(at);
    const out: Record<string, number> = {};
    for (const [k, n] of this.days) if (k.startsWith(day + '|')) out[k.slice(day.length + 1) || 'app'] = n;
    return out;
  }
}
