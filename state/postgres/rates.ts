import type { LearnedRate, LedgerRates, QuotaStop, RateKey } from '../port.js';
import type { PgConnection } from './connection.js';

/**
 * What the rate controllers learned (learned_rates) and the daily quotas found spent (quota_stops), per app,
 * merchant and method, as in the SQLite ledger (state/sqlite/rates.ts). Several workers save: the newest
 * observation wins (`WHERE learned_rates.updated_at <= EXCLUDED.updated_at`), and a quota stop one worker finds
 * stops every worker's sends for the key (each reads them when it starts, and pacing is shared: pacing.ts).
 */
export class PgRates implements LedgerRates<'async'> {
  constructor(private readonly c: PgConnection) {}

  learnedRates(appId?: string, method?: string): Promise<LearnedRate[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (appId !== undefined) where.push(`app_id = $${params.push(appId)}`);
    if (method !== undefined) where.push(`method = $${params.push(method)}`);
    return this.c.query<LearnedRate>(
      `SELECT app_id AS "appId", merchant, method, rate, quota, noise, updated_at AS "updatedAt" FROM learned_rates
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY app_id, merchant, method`,
      params,
    );
  }

  async saveLearnedRates(rates: readonly LearnedRate[], runId?: number): Promise<void> {
    if (!rates.length) return;
    const col = (f: (r: LearnedRate) => unknown) => rates.map((r) => f(r) ?? null);
    await this.c.query(
      `INSERT INTO learned_rates (app_id, merchant, method, rate, quota, noise, run_id, updated_at)
       SELECT a, m, t, r, q, n, $7, now() FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[]) AS u(a, m, t, r, q, n)
       ON CONFLICT (app_id, merchant, method) DO UPDATE SET rate = EXCLUDED.rate, quota = EXCLUDED.quota, noise = EXCLUDED.noise,
         run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at
       WHERE learned_rates.updated_at <= EXCLUDED.updated_at`,
      [col((r) => r.appId), col((r) => r.merchant), col((r) => r.method), col((r) => r.rate), col((r) => r.quota), col((r) => r.noise), runId ?? null],
    );
  }

  quotaStops(appId?: string): Promise<QuotaStop[]> {
    return this.c.query<QuotaStop>(
      `SELECT app_id AS "appId", merchant, method, until, since, reason FROM quota_stops ${appId === undefined ? '' : 'WHERE app_id = $1'} ORDER BY until, merchant`,
      appId === undefined ? [] : [appId],
    );
  }

  async saveQuotaStop(stop: QuotaStop): Promise<void> {
    await this.c.query(
      `INSERT INTO quota_stops (app_id, merchant, method, until, since, reason) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (app_id, merchant, method) DO UPDATE SET until = EXCLUDED.until, since = EXCLUDED.since, reason = EXCLUDED.reason`,
      [stop.appId, stop.merchant, stop.method, stop.until, stop.since, stop.reason],
    );
  }

  async clearQuotaStop(key: RateKey): Promise<void> {
    await this.c.query('DELETE FROM quota_stops WHERE app_id = $1 AND merchant = $2 AND method = $3', [key.appId, key.merchant, key.method]);
  }
}
