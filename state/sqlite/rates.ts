import type { LearnedRate, LedgerRates, QuotaStop, RateKey } from '../port.js';
import type { SqliteConnection } from './open.js';

/**
 * What the rate controller learned (learned_rates) and the daily quotas found spent (quota_stops), per app,
 * merchant and method. The ledger keeps plain numbers; what they mean is decided in pipeline/rate/. One
 * writer per SQLite ledger (the run lock): a save simply replaces the row.
 */
export class SqliteRates implements LedgerRates {
  private readonly s;

  constructor(private readonly conn: SqliteConnection) {
    this.s = conn.statements((db) => ({
      save: db.prepare(
        `INSERT INTO learned_rates (app_id, merchant, method, rate, quota, noise, run_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_id, merchant, method) DO UPDATE SET rate = excluded.rate, quota = excluded.quota, noise = excluded.noise,
           run_id = excluded.run_id, updated_at = excluded.updated_at`,
      ),
      stop: db.prepare(
        `INSERT INTO quota_stops (app_id, merchant, method, until, since, reason) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_id, merchant, method) DO UPDATE SET until = excluded.until, since = excluded.since, reason = excluded.reason`,
      ),
      clear: db.prepare('DELETE FROM quota_stops WHERE app_id = ? AND merchant = ? AND method = ?'),
    }));
  }

  learnedRates(appId?: string, method?: string): LearnedRate[] {
    if (!this.conn.has('learned_rates')) return []; // a read-only ledger of an older version
    const where = [appId === undefined ? '' : 'app_id = ?', method === undefined ? '' : 'method = ?'].filter(Boolean);
    const sql = `SELECT app_id AS appId, merchant, method, rate, quota, noise, updated_at AS updatedAt FROM learned_rates
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY app_id, merchant, method`;
    return this.conn.db.prepare(sql).all(...[appId, method].filter((v) => v !== undefined)) as LearnedRate[];
  }

  saveLearnedRates(rates: readonly LearnedRate[], runId?: number): void {
    const s = this.s();
    const now = this.conn.now();
    this.conn.db.transaction(() => {
      for (const r of rates) s.save.run(r.appId, r.merchant, r.method, r.rate, r.quota, r.noise, runId ?? null, now);
    })();
  }

  quotaStops(appId?: string): QuotaStop[] {
    const db = this.conn.db;
    if (!this.conn.has('quota_stops')) return [];
    const sql = `SELECT app_id AS appId, merchant, method, until, since, reason FROM quota_stops ${appId === undefined ? '' : 'WHERE app_id = ?'} ORDER BY until, merchant`;
    return (appId === undefined ? db.prepare(sql).all() : db.prepare(sql).all(appId)) as QuotaStop[];
  }

  saveQuotaStop(stop: QuotaStop): void {
    this.s().stop.run(stop.appId, stop.merchant, stop.method, stop.until, stop.since, stop.reason);
  }

  clearQuotaStop(key: RateKey): void {
    this.s().clear.run(key.appId, key.merchant, key.method);
  }
}
