import type { AttemptRecord, LedgerSending, PendingRecord, ResultRecord } from '../port.js';
import type { PgConnection, Query } from './connection.js';

type Item = { result: ResultRecord; attempt?: AttemptRecord | undefined };

/**
 * Claims as leases, and results that end them. claimPending marks the rows it hands out as this writer's until
 * now() + the lease (renewed by the worker's heartbeat while it lives: workers.ts), skipping rows another writer
 * is claiming this instant (FOR UPDATE SKIP LOCKED) or holds under a live lease. A result is written only while
 * the row is still claimed by this writer, in the transaction that ends the claim: an outcome that arrives after
 * the lease went to another writer is kept as an attempt and changes nothing else.
 */
export class PgSending implements LedgerSending<'async'> {
  constructor(private readonly c: PgConnection) {}

  /** The cursor is the SQLite adapter's: here a claim is what keeps a row from being handed out twice. */
  async claimPending(dataset: string, _afterRowid: number, limit: number, merchant?: string): Promise<PendingRecord[]> {
    const rows = await this.c.query<PendingRecord>(
      `UPDATE records r SET claimed_by = $2, claim_expires_at = now() + $4 * interval '1 millisecond'
       FROM (SELECT id FROM records WHERE dataset = $1 AND status = 'pending' AND (claimed_by IS NULL OR claim_expires_at < now())
             ${merchant === undefined ? '' : 'AND merchant = $5'} ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) c
       WHERE r.id = c.id
       RETURNING r.id AS rowid, r.run_id, r.merchant, r.key, r.snapshot, r.biz_content, r.attempts, r.file, r.line`,
      merchant === undefined ? [dataset, this.c.worker, limit, this.c.leaseMs] : [dataset, this.c.worker, limit, this.c.leaseMs, merchant],
    );
    return rows.sort((a, b) => a.rowid - b.rowid);
  }

  async recordAttempt(a: AttemptRecord): Promise<void> {
    await insertAttempts(this.c.query, [a]);
  }

  recordResult(r: ResultRecord, attempt?: AttemptRecord): Promise<void> {
    return this.recordResults([{ result: r, attempt }]);
  }

  /**
   * Several outcomes at once (group commit), each conditional on this writer's claim: one statement (the attempts
   * inserted and both kinds of outcome written in one WITH), so one round trip and one transaction.
   */
  async recordResults(items: readonly Item[]): Promise<void> {
    if (!items.length) return;
    const col = <T>(xs: readonly T[], f: (x: T) => unknown) => xs.map((x) => f(x) ?? null);
    const as = items.flatMap((it) => (it.attempt ? [it.attempt] : []));
    const up = items.filter((it) => it.result.status === 'uploaded').map((it) => it.result);
    const other = items.filter((it) => it.result.status !== 'uploaded').map((it) => it.result);
    // The biz_content is kept only where the row will be sent again without re-reading its file.
    const keep = (r: ResultRecord) => r.status === 'pending' || (r.keepBizContent ?? Boolean(r.retryable));
    await this.c.query(
      `WITH att AS (
         INSERT INTO attempts (run_id, dataset, key, attempt, kind, code, sub_code, duration_ms, trace_id, snapshot, merchant)
         SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[], $11::text[], $33::text[])
       ), up AS (
         UPDATE records r SET status = 'uploaded', biz_content = NULL, attempts = u.attempts, retryable = false, last_code = u.code,
           last_sub_code = u.sub_code, last_sub_msg = u.sub_msg, last_reason = u.reason, last_run_id = u.run_id,
           uploaded_snapshot = r.snapshot, uploaded_hash = r.hash, uploaded_at = now(), result = u.result, last_trace_id = u.trace_id,
           updated_at = now(), claimed_by = NULL, claim_expires_at = NULL
         FROM unnest($12::bigint[], $13::int[], $14::text[], $15::text[], $16::text[], $17::text[], $18::bigint[], $19::text[], $20::text[])
           AS u(id, attempts, code, sub_code, sub_msg, reason, run_id, result, trace_id)
         WHERE r.id = u.id AND r.claimed_by = $1
       ), other AS (
         UPDATE records r SET status = u.status, biz_content = CASE WHEN u.keep THEN r.biz_content END, attempts = u.attempts,
           retryable = u.retryable, last_code = u.code, last_sub_code = u.sub_code, last_sub_msg = u.sub_msg, last_reason = u.reason,
           last_run_id = u.run_id, result = COALESCE(u.result, r.result), last_trace_id = u.trace_id, updated_at = now(),
           claimed_by = NULL, claim_expires_at = NULL
         FROM unnest($21::bigint[], $22::text[], $23::boolean[], $24::int[], $25::boolean[], $26::text[], $27::text[], $28::text[], $29::text[], $30::bigint[], $31::text[], $32::text[])
           AS u(id, status, keep, attempts, retryable, code, sub_code, sub_msg, reason, run_id, result, trace_id)
         WHERE r.id = u.id AND r.claimed_by = $1
       ) SELECT 1`,
      [
        this.c.worker,
        ...attemptColumns(as),
        col(up, (r) => r.rowid), col(up, (r) => r.attempts), col(up, (r) => r.code), col(up, (r) => r.subCode), col(up, (r) => r.subMsg),
        col(up, (r) => r.reason), col(up, (r) => r.runId), col(up, (r) => r.result), col(up, (r) => r.traceId),
        col(other, (r) => r.rowid), col(other, (r) => r.status), other.map(keep), col(other, (r) => r.attempts), other.map((r) => Boolean(r.retryable)),
        col(other, (r) => r.code), col(other, (r) => r.subCode), col(other, (r) => r.subMsg), col(other, (r) => r.reason), col(other, (r) => r.runId),
        col(other, (r) => r.result), col(other, (r) => r.traceId),
        as.map((a) => a.merchant ?? ''),
      ],
    );
  }

  /**
   * What a writer waits for before its run ends (several writers): rows of the dataset still pending (some may be
   * leased by others, or by a writer that died, until its lease expires), and other live runs of the dataset still
   * staging (they may add rows).
   */
  async outstanding(dataset: string, runId: number): Promise<{ pending: number; staging: number }> {
    const [r] = await this.c.query<{ pending: number; staging: number }>(
      `SELECT (SELECT count(*) FROM records WHERE dataset = $1 AND status = 'pending') AS pending,
              (SELECT count(*) FROM runs ru WHERE ru.dataset = $1 AND ru.id <> $2 AND ru.status = 'running' AND ru.phase = 'staging'
                 AND EXISTS (SELECT 1 FROM workers w WHERE w.run_id = ru.id AND w.expires_at >= now())) AS staging`,
      [dataset, runId],
    );
    return { pending: r?.pending ?? 0, staging: r?.staging ?? 0 };
  }
}

/** The attempts as the columns of an unnest (run_id, dataset, key, attempt, kind, code, sub_code, duration_ms, trace_id, snapshot). */
function attemptColumns(as: readonly AttemptRecord[]): unknown[][] {
  const col = (f: (a: AttemptRecord) => unknown) => as.map((a) => f(a) ?? null);
  return [col((a) => a.runId), col((a) => a.dataset), col((a) => a.key), col((a) => a.attempt), col((a) => a.kind), col((a) => a.code),
    col((a) => a.subCode), col((a) => (a.durationMs === undefined ? undefined : Math.round(a.durationMs))), col((a) => a.traceId), col((a) => a.snapshot)];
}

async function insertAttempts(q: Query, as: readonly AttemptRecord[]): Promise<void> {
  if (!as.length) return;
  await q(
    `INSERT INTO attempts (run_id, dataset, key, attempt, kind, code, sub_code, duration_ms, trace_id, snapshot, merchant)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[], $10::text[], $11::text[])`,
    [...attemptColumns(as), as.map((a) => a.merchant ?? '')],
  );
}
