import type { FailedRevived, LedgerStaging, RejectRecord, RetryRefused, SendPolicy, StageCounts, StageRow } from '../port.js';
import { recordsWhere } from '../rows-filter.js';
import { addCounts, decideStage, type HeldRecord } from '../staging-rule.js';
import { numbered, type PgConnection } from './connection.js';

interface HeldRow extends HeldRecord {
  key: string;
  file: string | null;
  line: number | null;
}

/** A line that lost to a newer snapshot of its key (listed by `rows`, never sent). */
interface Loser {
  key: string;
  snapshot: string;
  file: string | null;
  line: number | null;
  kept: string;
}

/**
 * Staging on a shared ledger: the same rule as every adapter (state/staging-rule.ts), applied to a batch in one
 * transaction with three statements: the batch's new keys inserted (ON CONFLICT DO NOTHING: a key another writer
 * inserted meanwhile waits for it, then counts as held), the held rows read FOR UPDATE in key order (two writers
 * staging the same file serialise per key instead of deciding on what the other is changing), then the restaged
 * rows written at once. Keys are always taken in sorted order, so two writers' batches do not deadlock in
 * practice; when they do, the transaction runs again (PgConnection.tx).
 *
 * StageRow.formerKey (a key as versions before 0.2.1 stored it) is not looked for: no PostgreSQL ledger is that old.
 *
 * Restaging a row ends any claim on it, unless the row is the same snapshot with the same content: then the
 * request in flight at another writer is this very row, and its result still counts.
 */
export class PgStaging implements Omit<LedgerStaging<'async'>, 'stagingDone'> {
  constructor(
    private readonly c: PgConnection,
    private readonly hash: (text: string) => string,
  ) {}

  stage(runId: number, dataset: string, rows: readonly StageRow[], policy: SendPolicy = 'snapshot', retry: RetryRefused | null = null): Promise<StageCounts> {
    const hashes = rows.map((r) => this.hash(r.bizContent));
    // A row's identity is (merchant, key): `ck` joins them (a key holds no NUL), and sorts by merchant, then key.
    const ck = (merchant: string, key: string) => `${merchant}\u0000${key}`;
    const idOf = rows.map((r) => ck(r.merchant ?? '', r.key));
    const first = new Map<string, number>();
    idOf.forEach((id, i) => {
      if (!first.has(id)) first.set(id, i);
    });
    const ids = [...first.keys()].sort();
    /** the merchant and key arrays of a list of identities, as two SQL parameters */
    const split = (xs: readonly string[]) => [xs.map((x) => x.slice(0, x.indexOf('\u0000'))), xs.map((x) => x.slice(x.indexOf('\u0000') + 1))];
    return this.c.tx(async (q) => {
      const counts: StageCounts = { superseded: 0, unchanged: 0, staged: 0, refused: 0 };
      const at = ids.map((k) => first.get(k)!);
      const inserted = new Set(
        (await q<{ merchant: string; key: string }>(
          `INSERT INTO records (dataset, merchant, key, status, snapshot, hash, biz_content, run_id, file, line)
           SELECT $1, m, k, 'pending', s, h, p, $2, f, l
           FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[]) AS u(m, k, s, h, p, f, l)
           ON CONFLICT (dataset, merchant, key) DO NOTHING RETURNING merchant, key`,
          [dataset, runId, ...split(ids), at.map((i) => rows[i]!.snapshot), at.map((i) => hashes[i]), at.map((i) => rows[i]!.bizContent), at.map((i) => rows[i]!.file), at.map((i) => rows[i]!.line)],
        )).map((r) => ck(r.merchant, r.key)),
      );
      const state = new Map<string, HeldRow | undefined>();
      const others = ids.filter((k) => !inserted.has(k));
      if (others.length) {
        const held = await q<HeldRow & { merchant: string }>(
          `SELECT merchant, key, status, snapshot, hash, run_id, uploaded_snapshot, uploaded_hash, retryable::int AS retryable,
             COALESCE(last_sub_code, last_code) AS failure_code, file, line,
             (run_id <> $4 AND run_id IN (SELECT run_id FROM workers WHERE run_id IS NOT NULL AND expires_at >= now())) AS live
           FROM records WHERE dataset = $1 AND (merchant, key) IN (SELECT * FROM unnest($2::text[], $3::text[]))
           ORDER BY merchant, key FOR UPDATE`,
          [dataset, ...split(others), runId],
        );
        for (const h of held) state.set(ck(h.merchant, h.key), h);
      }
      /** the row (index) each restaged identity ends with; the rows still refused (noted as this run's); the losers */
      const restaged = new Map<string, number>();
      const refused = new Map<string, number>();
      const losers: (Loser & { merchant: string })[] = [];
      const fresh = (r: StageRow, i: number, held?: HeldRow): HeldRow => ({
        key: r.key, status: 'pending', snapshot: r.snapshot, hash: hashes[i]!, run_id: runId, uploaded_snapshot: held?.uploaded_snapshot ?? null,
        uploaded_hash: held?.uploaded_hash ?? null, retryable: 0, failure_code: null, file: r.file, line: r.line,
      });
      rows.forEach((r, i) => {
        const id = idOf[i]!;
        const merchant = r.merchant ?? '';
        const incoming = { snapshot: r.snapshot, hash: hashes[i]! };
        if (i === first.get(id) && inserted.has(id)) {
          addCounts(counts, decideStage(undefined, incoming, runId, policy));
          state.set(id, fresh(r, i));
          return;
        }
        const held = state.get(id);
        const d = decideStage(held, incoming, runId, policy, retry);
        addCounts(counts, d);
        if (d.loser === 'held') losers.push({ merchant, key: r.key, snapshot: held!.snapshot, file: held!.file, line: held!.line, kept: r.snapshot });
        else if (d.loser) {
          const kept = d.branch === 'older-than-alipay' ? held!.uploaded_snapshot ?? held!.snapshot : held!.snapshot;
          losers.push({ merchant, key: r.key, snapshot: r.snapshot, file: r.file, line: r.line, kept });
        }
        if (d.action === 'insert' || d.action === 'restage') {
          // ('insert' here: a key that conflicted but is gone again, deleted meanwhile: written back below)
          restaged.set(id, i);
          refused.delete(id);
          state.set(id, fresh(r, i, held));
        } else if (d.action === 'refused') {
          refused.set(id, i);
          state.set(id, { ...held!, run_id: runId, file: r.file, line: r.line });
        }
      });
      if (refused.size) {
        const ks = [...refused.keys()].sort();
        await q(
          `UPDATE records r SET run_id = $2, file = u.f, line = u.l, updated_at = now()
           FROM unnest($3::text[], $4::text[], $5::text[], $6::int[]) AS u(m, k, f, l) WHERE r.dataset = $1 AND r.merchant = u.m AND r.key = u.k`,
          [dataset, runId, ...split(ks), ks.map((k) => rows[refused.get(k)!]!.file), ks.map((k) => rows[refused.get(k)!]!.line)],
        );
      }
      if (losers.length) {
        await q(
          `INSERT INTO superseded (run_id, dataset, merchant, key, snapshot, file, line, kept_snapshot)
           SELECT $1, $2, m, k, s, f, l, w FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[]) AS u(m, k, s, f, l, w)`,
          [runId, dataset, losers.map((x) => x.merchant), losers.map((x) => x.key), losers.map((x) => x.snapshot), losers.map((x) => x.file),
            losers.map((x) => x.line), losers.map((x) => x.kept)],
        );
      }
      if (restaged.size) {
        const ks = [...restaged.keys()].sort();
        const ix = ks.map((k) => restaged.get(k)!);
        const args = [dataset, runId, ...split(ks), ix.map((i) => rows[i]!.snapshot), ix.map((i) => hashes[i]), ix.map((i) => rows[i]!.bizContent), ix.map((i) => rows[i]!.file), ix.map((i) => rows[i]!.line)];
        await q(
          `UPDATE records r SET status = 'pending', snapshot = u.s, hash = u.h, biz_content = u.p, run_id = $2, file = u.f, line = u.l,
             attempts = 0, retryable = false, updated_at = now(),
             claimed_by = CASE WHEN r.status = 'pending' AND r.snapshot = u.s AND r.hash = u.h THEN r.claimed_by END,
             claim_expires_at = CASE WHEN r.status = 'pending' AND r.snapshot = u.s AND r.hash = u.h THEN r.claim_expires_at END
           FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[]) AS u(m, k, s, h, p, f, l)
           WHERE r.dataset = $1 AND r.merchant = u.m AND r.key = u.k`,
          args,
        );
        await q(
          `INSERT INTO records (dataset, merchant, key, status, snapshot, hash, biz_content, run_id, file, line)
           SELECT $1, m, k, 'pending', s, h, p, $2, f, l
           FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[]) AS u(m, k, s, h, p, f, l)
           WHERE NOT EXISTS (SELECT 1 FROM records WHERE dataset = $1 AND merchant = u.m AND key = u.k) ON CONFLICT (dataset, merchant, key) DO NOTHING`,
          args,
        );
      }
      return counts;
    });
  }

  /** The merchants with rows to send, and how many each ('' for rows without an app_auth_token). */
  pendingByMerchant(dataset: string): Promise<{ merchant: string; count: number }[]> {
    return this.c.query<{ merchant: string; count: number }>(
      "SELECT merchant, count(*) AS count FROM records WHERE dataset = $1 AND status = 'pending' GROUP BY merchant ORDER BY merchant", [dataset],
    );
  }

  async addRejects(runId: number, dataset: string, rejects: readonly RejectRecord[]): Promise<void> {
    if (!rejects.length) return;
    await this.c.query(
      `INSERT INTO rejects (run_id, dataset, file, line, field, reason)
       SELECT $1, $2, f, l, fi, r FROM unnest($3::text[], $4::int[], $5::text[], $6::text[]) AS u(f, l, fi, r)`,
      [runId, dataset, rejects.map((r) => r.file), rejects.map((r) => r.line), rejects.map((r) => r.field), rejects.map((r) => r.reason)],
    );
  }

  /** Failed-but-retryable rows whose request body was kept become pending again (see the SQLite adapter). */
  async reviveRetryable(dataset: string): Promise<number> {
    const [r] = await this.c.query<{ n: number }>(
      `WITH u AS (UPDATE records SET status = 'pending', retryable = false, attempts = 0, updated_at = now()
         WHERE dataset = $1 AND status = 'failed' AND retryable AND biz_content IS NOT NULL RETURNING 1)
       SELECT count(*) AS n FROM u`,
      [dataset],
    );
    return r?.n ?? 0;
  }

  /**
   * `alipay-sync retry`: failed rows (refused or given up on) whose request body the ledger kept become pending
   * again; the files of those without one (personal data: never kept) are named, to be read again.
   */
  reviveFailed(dataset: string, o: { subCode?: string; key?: string } = {}): Promise<FailedRevived> {
    const w = recordsWhere({ dataset, statuses: ['failed'], ...o });
    const sql = numbered(w.sql);
    return this.c.tx(async (q) => {
      const [r] = await q<{ n: number }>(
        `WITH u AS (UPDATE records SET status = 'pending', retryable = false, attempts = 0, updated_at = now(), claimed_by = NULL, claim_expires_at = NULL
           WHERE ${sql} AND biz_content IS NOT NULL RETURNING 1) SELECT count(*) AS n FROM u`,
        w.params,
      );
      const withoutBody = await q<{ file: string | null; rows: number }>(
        `SELECT file, count(*) AS rows FROM records WHERE ${sql} AND biz_content IS NULL GROUP BY file ORDER BY file`, w.params,
      );
      return { revived: r?.n ?? 0, withoutBody };
    });
  }

  async stagedPlan(runId: number, dataset: string): Promise<{ new: number; changed: number }> {
    const [r] = await this.c.query<{ fresh: number; changed: number }>(
      `SELECT count(*) FILTER (WHERE uploaded_snapshot IS NULL) AS fresh, count(*) FILTER (WHERE uploaded_snapshot IS NOT NULL) AS changed
       FROM records WHERE run_id = $1 AND dataset = $2 AND status = 'pending'`,
      [runId, dataset],
    );
    return { new: r?.fresh ?? 0, changed: r?.changed ?? 0 };
  }

  async countPending(dataset: string): Promise<number> {
    const [r] = await this.c.query<{ n: number }>("SELECT count(*) AS n FROM records WHERE dataset = $1 AND status = 'pending'", [dataset]);
    return r?.n ?? 0;
  }

  async dropPendingOutside(dataset: string, snapshot: string): Promise<number> {
    const [r] = await this.c.query<{ n: number }>(
      "WITH d AS (DELETE FROM records WHERE dataset = $1 AND status = 'pending' AND snapshot <> $2 RETURNING 1) SELECT count(*) AS n FROM d",
      [dataset, snapshot],
    );
    return r?.n ?? 0;
  }
}
