import { formatElapsed, formatRate, perSecond } from './format.js';
import { formatCount, formatDuration } from './progress.js';
import type { UploadSummary } from './upload.js';

/** The few lines a person reads after a run; the counts add up the same way as the JSON summary's. */
export function humanSummary(s: UploadSummary, rejects?: string, o: { retryFailed?: boolean; width?: number } = {}): string {
  const read = `  read ${formatCount(s.read)} = rejected ${formatCount(s.rejected)} + superseded ${formatCount(s.superseded)} + unchanged ${formatCount(s.unchanged)}`;
  // a dry run's "pending" rows are a plan: nothing waits in the ledger for them
  const sent = ` + uploaded ${formatCount(s.uploaded)} + failed ${formatCount(s.failed)} + ${s.dry_run ? 'would send' : 'pending'} ${formatCount(s.pending)}`;
  const lines = [
    `${s.dataset}: ${s.dry_run ? `dry run${s.status === 'interrupted' ? ' interrupted' : ''}` : `run ${s.run_id} ${s.status}`}${s.abort_reason ? ` (${s.abort_reason})` : ''} in ${formatDuration(s.duration_ms)}`,
    // one line, unless a terminal is narrower: then two, the second under the "="
    ...(o.width !== undefined && read.length + sent.length > o.width ? [read, ' '.repeat(read.indexOf('=')) + sent.trimStart()] : [read + sent]),
  ];
  if (s.sent && (s.sent.rows > 0 || s.retried !== undefined)) {
    const rate = perSecond(s.sent.rows, s.sent.duration_ms);
    lines.push(`  sent ${formatCount(s.sent.rows)} row(s) in ${formatElapsed(s.sent.duration_ms)}${rate === null ? '' : ` (${formatRate(rate)}/s)`}: uploaded ${formatCount(s.sent.uploaded)}, failed ${formatCount(s.sent.failed)}`);
  }
  if (s.dry_run && s.plan) {
    lines.push(`  plan: ${formatCount(s.plan.new)} new and ${formatCount(s.plan.changed)} changed would be sent; ${formatCount(s.superseded)} stale or superseded and ${formatCount(s.unchanged)} unchanged would not; nothing was sent`);
  }
  const c = s.carried_over;
  if (c.uploaded + c.failed + (s.dry_run ? 0 : c.pending) > 0) {
    lines.push(`  from earlier or other runs: uploaded ${formatCount(c.uploaded)}, failed ${formatCount(c.failed)}, still pending ${formatCount(c.pending)}`);
  } else if (s.dry_run && c.pending > 0) {
    lines.push(`  ${formatCount(c.pending)} row(s) left pending by earlier runs would be sent too`);
  }
  if (s.still_refused) {
    lines.push(`  still refused: ${formatCount(s.still_refused)} of the failed rows were refused by Alipay before and are unchanged: not sent again (alipay-sync rows --status failed shows why; fix them${o.retryFailed ? ', or give --sub-code one of their sub_codes' : ', or --retry-failed'})`);
  }
  if (s.retried !== undefined) lines.push(`  retried from the ledger: ${formatCount(s.retried)} failed row(s) (their outcomes: "from earlier runs")`);
  for (const f of s.read_again ?? []) lines.push(`  not retried (no request kept: personal data): ${formatCount(f.rows)} row(s) of ${f.file ?? 'an unknown file'}: read it again with --retry-failed`);
  if (s.retries) lines.push(`  retries: ${formatCount(s.retries)}`);
  for (const m of s.merchants ?? []) {
    const rates = m.rates.filter((r) => r.quota !== null || r.throttled > 0).map((r) => `${r.quota !== null ? `quota ${r.quota}/s` : `rate ${r.rate ?? 'no ceiling'}/s`} (${r.throttled} throttled)`);
    if (m.id === '' && !m.stopped && !m.quota_spent_until && !rates.length && (s.merchants?.length ?? 0) === 1) continue;
    const why = !m.stopped ? (m.quota_spent_until ? ' · daily quota spent' : '')
      : ` · stopped: ${m.stopped.code === 'NO_TOKEN' ? m.stopped.message : `its app_auth_token was refused (${m.stopped.sub_code ?? m.stopped.code})`}`;
    const older = m.not_sent ? ` · ${formatCount(m.not_sent)} left pending by earlier runs not sent` : '';
    lines.push(`  merchant ${m.merchant}${m.first_seen ? ` (${m.first_seen})` : ''}: uploaded ${formatCount(m.uploaded)}, failed ${formatCount(m.failed)}, pending ${formatCount(m.pending)}${older}${rates.length ? ` · ${rates.join(', ')}` : ''}${why}`);
  }
  if (s.quota) lines.push(`  daily quota spent (${s.quota.merchants.join(', ') || 'the app'}): ${s.quota.resume}`);
  if (s.rejected && rejects) lines.push(`  rejected rows: ${rejects}`);
  if (s.empty_files.length) lines.push(`  no data rows in: ${s.empty_files.join(', ')}`);
  if (s.dry_run) {
    if (s.pending > 0 || c.pending > 0) lines.push('  this was a dry run: run without --dry-run to send them');
    else lines.push('  this was a dry run: nothing would be sent');
  } else if (s.status !== 'quota-spent' && (s.status === 'aborted' || s.status === 'interrupted' || s.pending > 0)) lines.push('  run the same command again to send what is still pending');
  return lines.join('\n');
}
