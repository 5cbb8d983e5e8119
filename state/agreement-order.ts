/**
 * The order of what Alipay says about an agreement, so that an older word never overwrites a newer one.
 *
 * Notifications arrive out of order: Alipay resends one it did not hear `success` for, about 8 times over 25
 * hours, so a `dut_user_sign` (NORMAL) that failed to arrive yesterday may come after today's `dut_user_unsign`
 * (UNSIGN). Each resend may carry a new notify_time (the time it was sent), so notify_time alone cannot order
 * them; the times the notice states about the agreement do not change between resends.
 *
 * The rule. Every state of an agreement gets an order key of two `yyyy-MM-dd HH:mm:ss` Beijing times, compared
 * in turn (the text of that format sorts as the time does):
 *
 * 1. `since`: when the status it reports began, as the notice itself states it:
 *    - UNSIGN: `unsign_time`, else `invalid_time` when it is not after notify_time (an unsigned agreement's end),
 *      else notify_time;
 *    - NORMAL: `valid_time` (when it took effect), else `sign_time`, else notify_time;
 *    - TEMP: `sign_time`, else notify_time;
 *    - STOP and anything else: notify_time (no field says when it began; notify_time is the latest it can be).
 * 2. `told`: when Alipay said it: notify_time of a notice; for an `agreements effect` / `agreements query`
 *    answer, the ledger's clock (in Beijing time) when the answer was stored.
 *
 * A notice is applied when its key is not older than the key held (equal keys: the later arrival wins, except
 * that nothing replaces an UNSIGN at an equal key). An older one changes nothing but is kept as history, marked
 * not applied. A time field that is absent or not a real `yyyy-MM-dd HH:mm:ss` is passed over for the next one in
 * the list; a notice with no usable time at all has the oldest key ('') and is applied only over a state that has
 * no key (stored before keys existed).
 *
 * Effect and query answers are Alipay's state when asked: they are stored as they come (as before) and set the
 * key by the same rule, so a stale notice that arrives after a query is not applied either.
 *
 * Known limit: a STOP that is lifted again (NORMAL) by a notice whose valid_time is the original one sorts before
 * the STOP and is kept as not applied; the next `agreements query` stores the agreement as Alipay holds it.
 */

export interface OrderKey {
  since: string;
  told: string;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** A real `yyyy-MM-dd HH:mm:ss` (months and days that exist, 00-23 hours), else undefined. */
export function orderTime(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = DATE_TIME.exec(v);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (y < 1 || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return v;
}

/** The order key of a state with `status` described by `fields`, told at `told` ('' when unknown). */
export function orderKey(status: string, fields: Readonly<Record<string, unknown>>, told: string): OrderKey {
  const t = (k: string) => orderTime(fields[k]);
  let since: string | undefined;
  if (status === 'UNSIGN') {
    const invalid = t('invalid_time');
    since = t('unsign_time') ?? (invalid !== undefined && (told === '' || invalid <= told) ? invalid : undefined);
  } else if (status === 'NORMAL') {
    since = t('valid_time') ?? t('sign_time');
  } else if (status === 'TEMP') {
    since = t('sign_time');
  }
  return { since: since ?? told, told };
}

/** <0, 0, >0 as a is older than, as old as, newer than b. */
export function compareKeys(a: OrderKey, b: OrderKey): number {
  if (a.since !== b.since) return a.since < b.since ? -1 : 1;
  if (a.told !== b.told) return a.told < b.told ? -1 : 1;
  return 0;
}

/** Whether a notice of `status` with key `incoming` may replace the state held (`heldStatus`, `held`; null: no key). */
export function supersedes(incoming: OrderKey, status: string, held: OrderKey | null, heldStatus: string | undefined): boolean {
  if (heldStatus === undefined || held === null) return true;
  const c = compareKeys(incoming, held);
  if (c !== 0) return c > 0;
  return heldStatus !== 'UNSIGN' || status === 'UNSIGN';
}

const BEIJING_OFFSET_MS = 8 * 3600 * 1000;

/** `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8 all year), whatever the host's time zone. */
export function beijingTime(epochMs: number): string {
  return new Date(epochMs + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}
