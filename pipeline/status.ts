import { hostname } from 'node:os';
import type { LockHolder, RunInfo } from '../state/ledger.js';
import { describeLocation, isPostgresLocation, openLedger, type AnyLedger } from '../state/open-ledger.js';
import { isPidAlive, procStartOf } from '../state/process-identity.js';
import { expiryWarnings, type CertExpiry } from './alipay/certs.js';
import { describeReset } from './rate/daily.js';
import { merchantLabel } from './run/merchants.js';
import { redactCommandText } from './settings.js';
import { COUNTS, statusText } from './status-text.js';
import { VERSION } from './version.js';

/**
 * `alipay-sync status`: recent runs (local times, durations, files, counts), what the ledger holds (per merchant
 * when it has merchants), failed rows by sub_code, agreements by status, notifications received, certificates,
 * daily quotas found spent (until when, how to go on) and the rates learned. One data shape (StatusReport) is
 * printed three ways: a table fitted to the terminal, TSV when stdout is not a terminal, JSON with --json (its
 * fields are documented in the README and only ever added to: `schema` says which version of the shape it is).
 */
export interface StatusOptions {
  ledgerPath: string;
  /** PostgreSQL: the schema (default alipay_sync) */
  schema?: string;
  runs: number;
  json: boolean;
  out: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  clock?: () => number;
}

/** A certificate the last run in certificate mode used, and when it ends. */
export interface CertificateExpiry {
  /** app certificate, or Alipay certificate (the one that signs answers; Alipay rotates it) */
  name: string;
  role: 'app' | 'alipay';
  /** its SN as sent in app_cert_sn / named by answers */
  serial: string;
  /** ISO time */
  not_after: string;
  days_left: number;
  /** what to do, when it ends within 30 days (or has ended) */
  warning: string | null;
}

export const STATUS_SCHEMA = 1;

export interface StatusRun {
  id: number;
  dataset: string;
  /** done, aborted, interrupted, failed, running, died (a run whose process is gone: killed), plan (a dry run of an older version) */
  status: string;
  dry_run: boolean;
  started_at: string;
  finished_at: string | null;
  /** finished - started; for a running run, how long it has run so far */
  duration_ms: number | null;
  exit_code: number | null;
  files: string[];
  /** the counts of its summary (they add up: read = rejected + superseded + unchanged + uploaded + failed + pending); null when it has none */
  counts: Record<(typeof COUNTS)[number], number> | null;
  /** a dry run (status plan): how many rows it would have sent (new keys, changed keys); its `pending` count is these, nothing was sent */
  plan: { new: number; changed: number } | null;
  command: string;
  message: string | null;
  /** what it sent with (qps, concurrency, …); null for runs of older versions */
  settings: Record<string, unknown> | null;
  /** `run` (files read), `retry` (`alipay-sync retry`: rows from the ledger, no file) or `retry-failed` (`--retry-failed`) */
  kind: 'run' | 'retry' | 'retry-failed';
  /** what it sent and how that ended (its own rows and earlier runs'); null for runs of older versions and dry runs */
  sent: { rows: number; uploaded: number; failed: number; duration_ms: number } | null;
}

/** What kind of run a recorded command line was. */
function kindOf(command: string): StatusRun['kind'] {
  if (/^retry\b/.test(command)) return 'retry';
  return /(^|\s)--retry-failed(=(true|1|yes|on))?(\s|$)/i.test(command) ? 'retry-failed' : 'run';
}

function sentOf(summary: Record<string, unknown> | null): StatusRun['sent'] {
  const s = summary?.sent as Partial<NonNullable<StatusRun['sent']>> | undefined;
  return s && typeof s.rows === 'number' ? { rows: s.rows, uploaded: s.uploaded ?? 0, failed: s.failed ?? 0, duration_ms: s.duration_ms ?? 0 } : null;
}

export interface StatusReport {
  schema: number;
  /** the alipay-sync that wrote this report */
  version: string;
  ledger: string;
  /** the host's time zone; human output shows times in it, JSON times are UTC (ISO 8601, Z) */
  time_zone: string;
  runs: StatusRun[];
  /** rows the ledger holds, by dataset, merchant (its id; '' for rows sent without an app_auth_token) and status */
  totals: { dataset: string; status: string; rows: number; merchant: string }[];
  /**
   * failed rows by sub_code (biz_success:false for a 10000 answer the dataset refused), with one reason, per merchant;
   * `refused`: refused for their content (sent again only by `retry` or `--retry-failed`), else given up on after
   * gateway trouble (sent again by the next run)
   */
  failures: { dataset: string; sub_code: string; rows: number; example: string | null; merchant: string; refused: boolean }[];
  agreements: { status: string; count: number }[];
  notifications: { received: number; last_day: number; stale: number; last_received_at: string | null };
  certificates: CertificateExpiry[];
  /** daily quotas found spent that have not reset yet: until when (ISO, and in Beijing time), why */
  quota_spent: { merchant: string; merchant_id: string; method: string; until: string; resets_at_beijing: string; since: string; reason: string }[];
  /** what the rate controller learned per (app, merchant, method): where the next run starts */
  learned_rates: { merchant: string; merchant_id: string; method: string; rate: number; quota: number | null; noise: number; learned_at: string | null }[];
  exit_code: number;
}

/** The lock's holder still runs: its pid with the same start time here, or a lease renewed lately elsewhere. */
function isAlive(h: LockHolder, now: number): boolean {
  if (h.host !== hostname()) return h.renewedAt !== null && now - Date.parse(h.renewedAt) < 120_000;
  if (!isPidAlive(h.pid)) return false;
  return h.procStart === null || procStartOf(h.pid) === h.procStart;
}

function statusOf(r: RunInfo, alive: boolean): string {
  if (r.dryRun) return 'plan';
  if (r.status === 'running' && !alive) return 'died';
  return r.status;
}

function numbers(summary: Record<string, unknown> | null): StatusRun['counts'] {
  if (!summary || typeof summary.read !== 'number') return null;
  // Runs recorded before 0.2 called the unchanged count `skipped`.
  const s: Record<string, unknown> = { unchanged: summary.skipped, ...summary };
  const out = {} as Record<(typeof COUNTS)[number], number>;
  for (const c of COUNTS) out[c] = typeof s[c] === 'number' ? (s[c] as number) : 0;
  return out;
}

/** Certificate mode: the certificates the last run used (written at its start and at each rotation), and when they end. */
async function certificatesOf(ledger: AnyLedger, now: number): Promise<CertificateExpiry[]> {
  let list: CertExpiry[];
  try {
    const parsed = JSON.parse((await ledger.certificateExpiries()) ?? '[]') as unknown;
    list = Array.isArray(parsed) ? (parsed as CertExpiry[]) : [];
  } catch {
    return [];
  }
  return list.map((c) => ({
    name: c.role === 'app' ? 'app certificate' : 'Alipay certificate', role: c.role, serial: c.sn, not_after: c.validTo,
    days_left: Math.floor((Date.parse(c.validTo) - now) / 86_400_000), warning: expiryWarnings([c], now)[0] ?? null,
  }));
}

export async function statusReport(ledger: AnyLedger, o: { ledgerPath: string; runs: number; now: number }): Promise<StatusReport> {
  const holder = await ledger.lockHolder();
  // A run row still "running" whose holder is gone was killed: said so, not shown as running for ever. (On a
  // shared ledger several workers run at once: a running run is alive until the next worker to start finds its
  // heartbeat expired and records it as crashed.)
  const holderAlive = holder !== null && isAlive(holder, o.now);
  const runs = (await ledger.recentRuns(o.runs)).map((r): StatusRun => {
    const alive = ledger.shared ? r.status === 'running' : holderAlive && holder!.runId === r.id;
    const started = Date.parse(r.startedAt);
    const finished = r.finishedAt ? Date.parse(r.finishedAt) : null;
    const counts = numbers(r.summary);
    const plan = r.dryRun && counts ? (r.summary?.plan as { new: number; changed: number } | undefined) ?? { new: counts.pending, changed: 0 } : null;
    return {
      id: r.id, dataset: r.dataset, status: statusOf(r, alive), dry_run: r.dryRun, started_at: r.startedAt, finished_at: r.finishedAt,
      duration_ms: finished !== null ? finished - started : alive ? o.now - started : null, exit_code: r.exitCode, files: r.files,
      counts, plan,
      // Older versions recorded some spellings of secret flags with their values: never show those.
      command: redactCommandText(r.command), message: r.message, settings: r.settings,
      kind: kindOf(r.command), sent: sentOf(r.summary),
    };
  });
  const n = await ledger.notificationCounts();
  return {
    schema: STATUS_SCHEMA,
    version: VERSION,
    ledger: o.ledgerPath,
    time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC',
    runs,
    totals: (await ledger.totals()).map((t) => ({ dataset: t.dataset, status: t.status, rows: t.count, merchant: t.merchant })),
    failures: (await ledger.failuresBySubCode()).map((f) => ({ dataset: f.dataset, sub_code: f.subCode, rows: f.count, example: f.example, merchant: f.merchant, refused: f.refused })),
    agreements: await ledger.agreementCounts(),
    notifications: { received: n.received, last_day: n.lastDay, stale: n.stale, last_received_at: n.lastReceivedAt },
    certificates: await certificatesOf(ledger, o.now),
    quota_spent: (await ledger.quotaStops()).filter((q) => Date.parse(q.until) > o.now).map((q) => ({
      merchant: merchantLabel(q.merchant), merchant_id: q.merchant, method: q.method, until: q.until, resets_at_beijing: describeReset(Date.parse(q.until)),
      since: q.since, reason: q.reason,
    })),
    learned_rates: (await ledger.learnedRates()).map((l) => ({
      merchant: merchantLabel(l.merchant), merchant_id: l.merchant, method: l.method, rate: l.rate, quota: l.quota, noise: l.noise, learned_at: l.updatedAt ?? null,
    })),
    exit_code: 0,
  };
}

export async function printStatus(o: StatusOptions): Promise<number> {
  const ledger = await openLedger(o.ledgerPath, { readonly: true, schema: o.schema });
  // (a PostgreSQL URL is named without its password)
  const name = isPostgresLocation(o.ledgerPath) ? describeLocation(o.ledgerPath, o.schema ?? 'alipay_sync') : o.ledgerPath;
  let report: StatusReport;
  try {
    report = await statusReport(ledger, { ledgerPath: name, runs: o.runs, now: (o.clock ?? Date.now)() });
  } finally {
    await ledger.close();
  }
  if (o.json) o.out.write(JSON.stringify(report) + '\n');
  else o.out.write(statusText(report, o.out.isTTY ? { width: o.out.columns && o.out.columns > 20 ? o.out.columns - 1 : 79 } : null, (o.clock ?? Date.now)()));
  return 0;
}
