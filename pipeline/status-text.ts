import { formatCount, formatDuration, localDateTime, localIso, zoneName } from './format.js';
import { merchantLabel } from './run/merchants.js';
import type { StatusReport, StatusRun } from './status.js';
import { cut, displayWidth, fitTable, tsv, type Column } from './table.js';

/**
 * `status` as text: for a terminal (`width` given), tables fitted to its width with local times, durations and
 * the files of each run; for a pipe (null), tab-separated blocks, each with its header row, one blank line
 * between them, in a fixed order: runs, totals, failures, agreements, notifications, certificates.
 */
export function statusText(r: StatusReport, terminal: { width: number } | null, now: number): string {
  return terminal ? forTerminal(r, terminal.width, now) : forPipe(r);
}

export const COUNTS = ['read', 'rejected', 'superseded', 'unchanged', 'uploaded', 'failed', 'pending'] as const;

const count = (n: number | undefined) => (n === undefined ? '' : formatCount(n));
const baseName = (f: string) => f.split(/[\\/]/).pop() ?? f;

function shownStatus(run: StatusRun): string {
  return run.status === 'plan' ? 'dry run' : run.status;
}

/** What is said of a run under its counts: the files it read, what a dry run planned, why it stopped. */
function notes(run: StatusRun): string[] {
  const out: string[] = [];
  const files = run.files.map(baseName);
  if (run.kind !== 'run') {
    const what = run.kind === 'retry' ? 'retry: failed rows sent again from the ledger (no file read)' : '--retry-failed: refused rows sent again';
    out.push(`${what}${run.sent ? `; sent ${formatCount(run.sent.rows)}: uploaded ${formatCount(run.sent.uploaded)}, failed ${formatCount(run.sent.failed)}` : ''}`);
  }
  if (files.length) out.push(`files: ${files.length > 3 ? `${files.slice(0, 3).join(', ')} and ${files.length - 3} more` : files.join(', ')}`);
  if (run.plan) out.push(`was a dry run: it would have sent ${formatCount(run.plan.new + run.plan.changed)} (${formatCount(run.plan.new)} new, ${formatCount(run.plan.changed)} changed); nothing was sent`);
  if (run.status === 'died') out.push('died without finishing (killed?): its pending rows are sent by the next run');
  if (run.message) out.push(`stopped: ${run.message}`);
  return out;
}

/** Words into lines of at most `width` columns; the lines after the first start with `indent`; a word too long is cut. */
export function wrap(text: string, width: number, indent = ''): string[] {
  const lead = /^ */.exec(text)![0];
  const lines: string[] = [];
  let line = lead;
  for (const word of text.slice(lead.length).split(' ')) {
    const next = line.trim() === '' ? line + word : `${line} ${word}`;
    if (displayWidth(next) <= width || line.trim() === '') line = next;
    else {
      lines.push(line);
      line = indent + word;
    }
  }
  lines.push(line);
  return lines.map((l) => cut(l, width));
}

/** What sends failed rows again, said over each group (README, "Retries you control"). */
const REFUSED_ADVICE = [
  'Refused by Alipay for their content, by sub_code (not sent again while unchanged):',
  '  fix them in your files (the next run sends changed rows), or send them unchanged: alipay-sync retry <dataset> --sub-code <sub_code>',
  '  (or upload <dataset> <files> --retry-failed --sub-code <sub_code>)',
];
const TROUBLE_ADVICE = [
  'Failed after gateway trouble (timeouts, 5xx, busy), by code:',
  '  the next run of the dataset sends them again by itself (rows with personal data: when their file is read again),',
  '  or now: alipay-sync retry <dataset>',
];

function forTerminal(r: StatusReport, width: number, now: number): string {
  const out: string[] = [];
  const put = (s: string) => out.push(...wrap(s, width, '  '));
  put(`ledger ${r.ledger}`);
  put(`times in ${zoneName(now)}`);
  if (r.runs.length === 0) {
    put('no runs yet');
  } else {
    out.push('');
    put('Recent runs:');
    const columns: Column[] = [
      { title: 'run', rank: 0, align: 'right' }, { title: 'dataset', rank: 0 }, { title: 'started', rank: 0 }, { title: 'took', rank: 0, align: 'right' },
      { title: 'status', rank: 0 }, { title: 'exit', rank: 0, align: 'right' }, ...COUNTS.map((c): Column => ({ title: c, align: 'right', rank: 1 })),
    ];
    const rows = r.runs.map((run) => [
      String(run.id), run.dataset, localDateTime(Date.parse(run.started_at)), run.duration_ms === null ? '' : formatDuration(run.duration_ms),
      // a dry run's "pending" are rows it would have sent, not rows waiting in the ledger: shown as its plan below
      shownStatus(run), run.exit_code === null ? '' : String(run.exit_code), ...COUNTS.map((c) => (c === 'pending' && run.plan ? '' : count(run.counts?.[c]))),
    ]);
    const t = fitTable(columns, rows, width);
    if (t.omitted.length === 0) {
      // Wide enough for one line per run; under the table, per run: its files, a dry run's plan, why it stopped.
      out.push(t.text);
      for (const run of r.runs) for (const line of notes(run)) out.push(...wrap(`  run ${run.id} ${line}`, width, '    '));
    } else {
      // Narrower: a few lines per run, the counts wrapped at words (nothing is left out, nothing wraps by itself).
      for (const run of r.runs) {
        const took = run.duration_ms === null ? '' : `, ${run.status === 'running' ? 'running for' : 'took'} ${formatDuration(run.duration_ms)}`;
        out.push(...wrap(`run ${run.id}  ${run.dataset}  ${shownStatus(run)}${run.exit_code === null ? '' : ` (exit ${run.exit_code})`}  started ${localDateTime(Date.parse(run.started_at))}${took}`, width, '    '));
        if (run.counts && !run.plan) {
          const c = run.counts;
          out.push(...wrap(`  read ${count(c.read)} = rejected ${count(c.rejected)} + superseded ${count(c.superseded)} + unchanged ${count(c.unchanged)} + uploaded ${count(c.uploaded)} + failed ${count(c.failed)} + pending ${count(c.pending)}`, width, '    '));
        }
        for (const line of notes(run)) out.push(...wrap(`  ${line}`, width, '    '));
      }
    }
  }
  // Per merchant (a column of its own) when the ledger holds any merchant's rows.
  const merchants = r.totals.some((t) => t.merchant !== '') || r.failures.some((f) => f.merchant !== '');
  const mcol: Column[] = merchants ? [{ title: 'merchant', rank: 0 }] : [];
  if (r.totals.length) {
    out.push('');
    put('Ledger holds:');
    const groups = [...new Map(r.totals.map((t) => [`${t.dataset}\u0000${t.merchant}`, t])).values()];
    const n = (d: string, m: string, s: string) => r.totals.find((t) => t.dataset === d && t.merchant === m && t.status === s)?.rows ?? 0;
    const rows = groups.map((g) => [g.dataset, ...(merchants ? [merchantLabel(g.merchant)] : []), count(n(g.dataset, g.merchant, 'uploaded')), count(n(g.dataset, g.merchant, 'failed')), count(n(g.dataset, g.merchant, 'pending'))]);
    const cols: Column[] = [{ title: 'dataset', rank: 0 }, ...mcol, { title: 'uploaded', rank: 1, align: 'right' }, { title: 'failed', rank: 2, align: 'right' }, { title: 'pending', rank: 3, align: 'right' }];
    out.push(fitTable(cols, rows, width).text);
  }
  for (const refused of [true, false]) {
    const failures = r.failures.filter((f) => f.refused === refused);
    if (!failures.length) continue;
    out.push('');
    for (const line of refused ? REFUSED_ADVICE : TROUBLE_ADVICE) put(line);
    const cols: Column[] = [
      { title: 'dataset', rank: 2 }, ...mcol, { title: 'sub_code', rank: 0 }, { title: 'rows', rank: 1, align: 'right' }, { title: 'example reason', rank: 3, shrink: true, min: 16 },
    ];
    out.push(fitTable(cols, failures.map((f) => [f.dataset, ...(merchants ? [merchantLabel(f.merchant)] : []), f.sub_code, count(f.rows), f.example ?? '']), width).text);
  }
  if (r.quota_spent.length) {
    out.push('');
    put('Daily quota spent: its rows stay pending until it resets; run the same command again after that, or with --wait-for-quota:');
    const cols: Column[] = [{ title: 'merchant', rank: 0 }, { title: 'method', rank: 2 }, { title: 'resets at', rank: 0 }, { title: 'why', rank: 3, shrink: true, min: 16 }];
    out.push(fitTable(cols, r.quota_spent.map((q) => [q.merchant, q.method, q.resets_at_beijing, q.reason]), width).text);
  }
  if (r.learned_rates.length) {
    out.push('');
    put('Rates learned (where the next run starts, below --qps):');
    const cols: Column[] = [{ title: 'merchant', rank: 0 }, { title: 'method', rank: 2 }, { title: 'rate/s', rank: 0, align: 'right' }, { title: 'quota/s', rank: 1, align: 'right' }, { title: 'learned', rank: 3 }];
    out.push(fitTable(cols, r.learned_rates.map((l) => [
      l.merchant, l.method, l.rate.toFixed(1), l.quota === null ? 'not reached' : String(l.quota), l.learned_at ? localDateTime(Date.parse(l.learned_at)) : '',
    ]), width).text);
  }
  if (r.agreements.length) {
    out.push('');
    put(`Agreements by status: ${r.agreements.map((a) => `${a.status} ${formatCount(a.count)}`).join(', ')}`);
  }
  const nt = r.notifications;
  if (nt.received > 0) {
    if (!r.agreements.length) out.push('');
    put(`Notifications received: ${formatCount(nt.received)} (${formatCount(nt.last_day)} in the last 24 h${nt.stale ? `, ${formatCount(nt.stale)} older than the state held` : ''}), the last at ${localDateTime(Date.parse(nt.last_received_at!))}`);
  }
  if (r.certificates.length) {
    out.push('');
    put('Certificates (of the last run in certificate mode):');
    const cols: Column[] = [{ title: 'certificate', rank: 0 }, { title: 'ends', rank: 1 }, { title: 'days left', rank: 2, align: 'right' }, { title: 'SN', rank: 3, shrink: true }];
    out.push(fitTable(cols, r.certificates.map((c) => [c.name, localDateTime(Date.parse(c.not_after)), String(c.days_left), c.serial]), width).text);
    for (const c of r.certificates) if (c.warning) put(`warning: ${c.warning}`);
  }
  return out.join('\n') + '\n';
}

function forPipe(r: StatusReport): string {
  const time = (iso: string | null) => (iso ? localIso(Date.parse(iso)) : '');
  const blocks = [
    tsv(
      ['run', 'dataset', 'status', 'started', 'finished', 'duration_s', 'exit', ...COUNTS, 'plan_new', 'plan_changed', 'files', 'message', 'kind', 'sent', 'sent_uploaded', 'sent_failed'],
      r.runs.map((run) => [
        String(run.id), run.dataset, run.status, time(run.started_at), time(run.finished_at),
        run.duration_ms === null ? '' : String(Math.round(run.duration_ms / 1000)), run.exit_code === null ? '' : String(run.exit_code),
        ...COUNTS.map((c) => (run.counts ? String(run.counts[c]) : '')),
        run.plan ? String(run.plan.new) : '', run.plan ? String(run.plan.changed) : '', run.files.join(' '), run.message ?? '',
        run.kind, ...(run.sent ? [run.sent.rows, run.sent.uploaded, run.sent.failed].map(String) : ['', '', '']),
      ]),
    ),
    tsv(['dataset', 'status', 'rows'], r.totals.map((t) => [t.dataset, t.status, String(t.rows)])),
    tsv(['failed_dataset', 'sub_code', 'rows', 'example', 'refused'], r.failures.map((f) => [f.dataset, f.sub_code, String(f.rows), f.example ?? '', f.refused ? 'yes' : 'no'])),
    tsv(['agreement_status', 'count'], r.agreements.map((a) => [a.status, String(a.count)])),
    tsv(['notifications_received', 'last_24h', 'stale', 'last_received'], [[String(r.notifications.received), String(r.notifications.last_day), String(r.notifications.stale), time(r.notifications.last_received_at)]]),
    tsv(['certificate', 'serial', 'not_after', 'days_left'], r.certificates.map((c) => [c.name, c.serial, time(c.not_after), String(c.days_left)])),
    // merchants, daily quotas and learned rates: blocks of their own, only when the ledger has any
    ...(r.totals.some((t) => t.merchant !== '') ? [tsv(['merchant_dataset', 'merchant', 'status', 'rows'], r.totals.map((t) => [t.dataset, merchantLabel(t.merchant), t.status, String(t.rows)]))] : []),
    ...(r.quota_spent.length ? [tsv(['quota_merchant', 'method', 'resets_at', 'reason'], r.quota_spent.map((q) => [q.merchant, q.method, time(q.until), q.reason]))] : []),
    ...(r.learned_rates.length ? [tsv(['rate_merchant', 'method', 'rate', 'quota', 'learned'], r.learned_rates.map((l) => [l.merchant, l.method, String(l.rate), l.quota === null ? '' : String(l.quota), time(l.learned_at)]))] : []),
  ];
  return blocks.join('\n\n') + '\n';
}
