/**
 * Daily quotas. Alipay's 40005 does not say which limit was hit by its code; a per-second limit and a spent day's
 * quota look alike but for their sub_msg, whose wording is not published. So a daily quota is told apart in two
 * ways: by a sub_msg that speaks of the day (this list), or by behaviour (controller.ts: nothing admitted for a
 * minute while 40005 keeps coming, which no per-second limit does). It resets at 00:00 Beijing time.
 */

/** Words of a sub_msg (or msg) that say the day's quota is spent: 当日/每日/今日 (today, per day), 日调用 (daily calls). */
const DAILY_WORDS = /当日|每日|今日|日调用|日限额|daily|per day|today/i;

/** Why this 40005 means the day's quota is spent, or null when it does not say so. */
export function dailyQuotaHint(subCode: string | undefined, subMsg: string | undefined): string | null {
  if (subMsg && DAILY_WORDS.test(subMsg)) return `Alipay says the day's quota is spent (${subCode ?? '40005'}: ${subMsg})`;
  return null;
}

const BEIJING_OFFSET_MS = 8 * 3600_000;
const DAY_MS = 24 * 3600_000;

/** The next 00:00 Beijing time (UTC+8, no daylight saving) after `now` (ms since the epoch). */
export function nextQuotaReset(now: number): number {
  return Math.floor((now + BEIJING_OFFSET_MS) / DAY_MS) * DAY_MS + DAY_MS - BEIJING_OFFSET_MS;
}

/** `2026-11-23 00:00 Beijing time (16:00 UTC)`, for messages. */
export function describeReset(at: number): string {
  const beijing = new Date(at + BEIJING_OFFSET_MS).toISOString();
  const utc = new Date(at).toISOString();
  return `${beijing.slice(0, 10)} ${beijing.slice(11, 16)} Beijing time (${utc.slice(11, 16)} UTC)`;
}

/** `7 h 12 min`, `3 min`, `40 s`. */
export function describeWait(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
