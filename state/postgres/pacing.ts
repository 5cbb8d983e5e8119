import type { LedgerPacing, PaceLimit } from '../port.js';
import type { PgConnection } from './connection.js';

/**
 * Slots are 1/rate apart plus 5%: the in-process limiter keeps 2% (20 ms of a second) for arrival jitter, but
 * several processes (on several hosts) jitter more — a woken timer, a garbage collection, a busy core — so the
 * shared one keeps 50 ms of every second spare. N workers together reach 95% of the ceiling and no more.
 */
const SPACING = 1000 / 1050;
/** as the in-process limiter: a climb of 20% per 2 s without 40005 */
const RECOVER_MS = 2000;
const RECOVER_FACTOR = 1.2;
/** with no ceiling, a learned rate that climbs past this is forgotten (back to no limit) */
const NO_CEILING_CAP = 10_000;

/**
 * The shared rate limit (GCRA, "virtual scheduling"): per key, `tat` is the earliest time the next request may
 * start, by the server's clock. Reserving a slot under several keys at once (a method's own limit, and a global
 * one) is one UPDATE … RETURNING: the slot is the latest of now and every key's tat, and each key's tat moves one
 * interval past it. Writers then sleep until their slot: N writers together start no more than the ceiling's
 * rate, because slots are handed out one interval apart whoever asks. A 40005 seen by any writer halves the
 * key's rate for all of them (slowDown); the rate climbs back by 20% every 2 s without one, as in-process.
 */
export class PgPacing implements LedgerPacing<'async'> {
  private readonly known = new Set<string>();

  constructor(private readonly c: PgConnection) {}

  private async ensure(keys: readonly string[]): Promise<void> {
    const missing = keys.filter((k) => !this.known.has(k));
    if (!missing.length) return;
    await this.c.query('INSERT INTO rate_limits (key) SELECT unnest($1::text[]) ON CONFLICT (key) DO NOTHING', [missing]);
    for (const k of missing) this.known.add(k);
  }

  async reserveSlot(limits: readonly PaceLimit[]): Promise<number> {
    const sorted = [...limits].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const keys = sorted.map((l) => l.key);
    await this.ensure(keys);
    const [r] = await this.c.query<{ wait: number }>(
      `WITH t AS (SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 AS now),
       lim AS (
         SELECT r.key, r.tat, u.qps,
           CASE WHEN r.rate IS NULL THEN NULL
                WHEN t.now - r.recovered_at < ${RECOVER_MS} THEN r.rate
                WHEN r.rate * ${RECOVER_FACTOR} >= LEAST(u.qps, ${NO_CEILING_CAP}) THEN NULL
                ELSE r.rate * ${RECOVER_FACTOR} END AS rate,
           r.rate IS NOT NULL AND t.now - r.recovered_at >= ${RECOVER_MS} AS recovered
         FROM rate_limits r JOIN unnest($1::text[], $2::float8[]) AS u(key, qps) ON u.key = r.key, t
         ORDER BY r.key FOR UPDATE OF r
       ),
       slot AS (SELECT GREATEST((SELECT now FROM t), MAX(tat)) AS at FROM lim)
       UPDATE rate_limits r SET
         tat = slot.at + 1000 / (LEAST(COALESCE(lim.rate, 'Infinity'::float8), lim.qps) * ${SPACING}),
         rate = lim.rate,
         recovered_at = CASE WHEN lim.recovered THEN (SELECT now FROM t) ELSE r.recovered_at END
       FROM lim, slot WHERE r.key = lim.key
       RETURNING slot.at - (SELECT now FROM t) AS wait`,
      [keys, sorted.map((l) => (l.qps > 0 && Number.isFinite(l.qps) ? l.qps : Infinity))],
    );
    return Math.max(0, r?.wait ?? 0);
  }

  /**
   * Halve `key`'s rate for every writer, unless the answer says nothing new: its request started before the last
   * decrease (`sentAgoMs` ago), or the last decrease is under `holdMs` old (a per-second quota stays spent for up
   * to a second). The base is the learned rate, else the ceiling, else (no ceiling) what the caller observed.
   */
  async slowDown(key: string, o: { ceiling: number; observed: number; sentAgoMs: number; holdMs: number }): Promise<number | null> {
    await this.ensure([key]);
    const base = o.ceiling > 0 && Number.isFinite(o.ceiling) ? o.ceiling : Math.max(1, o.observed);
    const [r] = await this.c.query<{ rate: number }>(
      `WITH t AS (SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 AS now)
       UPDATE rate_limits SET rate = GREATEST(0.5, LEAST(COALESCE(rate, $2), $5) / 2), slowed_at = t.now, recovered_at = t.now,
         slow_downs = slow_downs + 1
       FROM t WHERE key = $1 AND (slowed_at IS NULL OR (slowed_at <= t.now - $3 AND t.now - slowed_at >= $4))
       RETURNING rate`,
      [key, base, o.sentAgoMs, o.holdMs, o.ceiling > 0 && Number.isFinite(o.ceiling) ? o.ceiling : Infinity],
    );
    return r ? r.rate : null;
  }

  /** The rate in force for `key` (null: no learned limit, the ceiling applies). */
  async currentRate(key: string): Promise<number | null> {
    const [r] = await this.c.query<{ rate: number | null }>('SELECT rate FROM rate_limits WHERE key = $1', [key]);
    return r?.rate ?? null;
  }
}
