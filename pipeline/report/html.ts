import { formatCount, formatDuration, formatRate, localDateTime, perSecond, zoneName } from '../format.js';
import { countsChart, latencyChart, msLabel, rateChart } from './charts.js';
import type { ReportData } from './data.js';
import { barList, esc } from './svg.js';

/**
 * The run report as one HTML file: inline CSS, inline SVG, no script, nothing fetched (a Content-Security-Policy
 * forbids it), so it opens the same from an e-mail attachment, a ticket or a machine without network.
 */
const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;margin:24px auto;max-width:960px;padding:0 16px;color:#1d2430}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde3ea;padding-bottom:4px}
.sub{color:#5b6778;margin:0 0 12px}.note{color:#5b6778}.warn{color:#a33}
table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 10px 3px 0;text-align:left;vertical-align:top}
th{color:#5b6778;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.figures{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}.figure{border:1px solid #dde3ea;border-radius:6px;padding:8px 12px;min-width:110px}
.figure b{display:block;font-size:20px;font-variant-numeric:tabular-nums}.figure span{color:#5b6778;font-size:12px}
svg.chart{width:100%;height:auto;display:block;margin:6px 0;overflow:visible}
.grid{stroke:#e6ebf0}.axis{stroke:#9aa5b4}.tick,.bar-label,.bar-value,.level-label,.percentile-label,.axis-title{font-size:11px;fill:#5b6778}
.rate-bar{fill:#4c8bd6}.limit-line{fill:none;stroke:#e08a1e;stroke-width:2}.qps-line{stroke:#333;stroke-dasharray:6 4;stroke-width:1.5}
.learned-line{stroke:#2a9d6a;stroke-dasharray:2 3;stroke-width:2}.slowdown{fill:#d23c3c}
.latency-bar{fill:#7b61c4}.percentile{stroke:#333;stroke-dasharray:3 3}.bar{fill:#4c8bd6}.bar.bad{fill:#d23c3c}.bar.retry{fill:#e0a31e}
.part-uploaded{fill:#2a9d6a}.part-unchanged{fill:#9cc7b4}.part-superseded{fill:#b8c2cc}.part-rejected{fill:#d9822b}.part-failed{fill:#d23c3c}.part-pending{fill:#e0c21e}
.sw.part-uploaded{background:#2a9d6a}.sw.part-unchanged{background:#9cc7b4}.sw.part-superseded{background:#b8c2cc}.sw.part-rejected{background:#d9822b}.sw.part-failed{background:#d23c3c}.sw.part-pending{background:#e0c21e}
.part-label{font-size:12px;fill:#fff}.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
code{background:#f3f5f8;padding:1px 4px;border-radius:3px;word-break:break-all}`;

const n = (v: number) => formatCount(v);
const figure = (value: string, label: string, cls = '') => `<div class="figure ${cls}"><b>${esc(value)}</b><span>${esc(label)}</span></div>`;
const when = (iso: string | null) => (iso ? localDateTime(Date.parse(iso)) : '');

function table(head: string[], rows: string[][], numeric: number[] = []): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="n"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

function countsSection(d: ReportData): string {
  if (!d.counts) return '<h2>Rows</h2><p class="note">This run ended before it had counts (it failed or is still running).</p>';
  const c = d.counts;
  const sum = c.parts.map((p) => `${p.name} ${n(p.value)}`).join(' + ');
  const carried = d.carried && d.carried.uploaded + d.carried.failed + d.carried.pending > 0
    ? `<p>Rows left by earlier runs that this run sent: uploaded ${n(d.carried.uploaded)}, failed ${n(d.carried.failed)}, still pending ${n(d.carried.pending)}.</p>` : '';
  const legend = c.parts.map((p) => `<span><i class="sw part-${esc(p.name)}"></i>${esc(`${p.name} ${n(p.value)}`)}</span>`).join('');
  return `<h2>Rows</h2><p class="equation">read ${n(c.read)} = ${esc(sum)} ${c.addsUp ? '<span class="adds-up">✓ adds up</span>' : '<span class="warn">does not add up: please report it</span>'}</p>` +
    countsChart(d) + `<p class="legend">${legend}</p>` + carried;
}

function rateSection(d: ReportData): string {
  if (d.steps.length === 0) return '';
  const r = d.requests;
  const peak = Math.max(...d.steps.map((s) => s.rate));
  const secs = d.steps.length * d.step;
  const legend = [
    '<span><i class="sw" style="background:#4c8bd6"></i>requests started per second</span>',
    '<span><i class="sw" style="background:#e08a1e"></i>the limiter\'s rate (halves on 40005, climbs back)</span>',
    d.qps !== null ? `<span><i class="sw" style="background:#333"></i>--qps ${esc(d.qps)}</span>` : '<span>no --qps ceiling</span>',
    d.learnedRate !== null ? `<span><i class="sw" style="background:#2a9d6a"></i>learned rate ${esc(d.learnedRate.toFixed(1))}/s</span>` : '<span class="note">no learned rate in this ledger</span>',
    '<span><i class="sw" style="background:#d23c3c"></i>40005 slow-downs</span>',
  ].join('');
  return '<h2>Send rate</h2><div class="figures">' +
    figure(n(r.total), 'requests') + figure(meanRate(d, secs), 'rows/s') + figure(peak.toFixed(1) + '/s', 'peak rate') +
    figure(n(r.slowDowns), '40005 / 429 answers', r.slowDowns ? 'warn' : '') + figure(n(r.retried), 'answers retried') + '</div>' +
    rateChart(d) + `<p class="legend">${legend}</p>`;
}

/**
 * The run's rate as its final line says it: rows answered over the time sending took (at least 1 s); runs of
 * older versions, without that record: requests over the seconds that had some.
 */
function meanRate(d: ReportData, secs: number): string {
  const sent = d.run.summary?.sent as { rows?: number; duration_ms?: number } | undefined;
  const rate = typeof sent?.rows === 'number' && typeof sent.duration_ms === 'number'
    ? perSecond(sent.rows, Math.max(1000, sent.duration_ms))!
    : perSecond(d.requests.total, Math.max(1, secs) * 1000)!;
  return `${formatRate(rate)}/s`;
}

function latencySection(d: ReportData): string {
  const l = d.latency;
  if (l.count === 0) return '';
  const ms = (v: number | null) => (v === null ? '-' : msLabel(v));
  return '<h2>Latency</h2><div class="figures">' +
    figure(ms(l.p50), 'p50') + figure(ms(l.p90), 'p90') + figure(ms(l.p95), 'p95') + figure(ms(l.p99), 'p99') + figure(ms(l.maxMs), 'slowest') +
    figure(ms(l.meanMs), 'mean') + '</div>' + latencyChart(d) +
    `<p class="note">Time from sending a request to its judged answer, over ${n(l.count)} answers; percentiles are read from a histogram with 10% wide buckets.</p>`;
}

function codesSection(d: ReportData): string {
  if (d.codes.length === 0) return '';
  const total = d.codes.reduce((a, c) => a + c.count, 0);
  const cls = (kind: string) => (kind === 'success' ? '' : kind === 'transient' ? 'retry' : 'bad');
  const items = d.codes.map((c) => ({ label: `${c.code}${c.subCode ? ' ' + c.subCode : ''} (${c.kind})`, value: c.count, cls: cls(c.kind) }));
  return '<h2>Answers by code</h2>' + barList(items, { title: 'Answers by code and sub_code', cls: 'codes-chart' }) +
    table(['code', 'sub_code', 'outcome', 'answers', 'share'], d.codes.map((c) => [c.code, c.subCode || '-', c.kind, n(c.count), `${((100 * c.count) / total).toFixed(1)}%`]), [3, 4]);
}

function keysSection(d: ReportData): string {
  let out = '';
  if (d.slowest.length) {
    out += '<h2>Slowest requests</h2>' + table(['key', 'attempt', 'took', 'answer', 'sent at'],
      d.slowest.map((k) => [k.key, String(k.attempt), msLabel(k.durationMs ?? 0), `${k.code ?? ''} ${k.subCode ?? ''}`.trim(), when(k.at)]), [1, 2]);
  }
  const failed = typeof d.run.summary?.failed === 'number' ? (d.run.summary.failed as number) : d.failed.length;
  if (d.failed.length) {
    out += `<h2>Failed rows</h2><p class="note">${d.failed.length < failed ? `The first ${n(d.failed.length)} of ${n(failed)}.` : `All ${n(failed)}.`} Keys shaped like personal data are masked.</p>` +
      table(['key', 'attempts', 'code', 'sub_code', 'reason'], d.failed.map((k) => [k.key, String(k.attempt), k.code ?? '', k.subCode ?? '', k.reason ?? '']), [1]);
  }
  return out;
}

export function reportHtml(d: ReportData, o: { ledger: string; generatedAt: number; version: string }): string {
  const run = d.run;
  const dur = run.finishedAt ? formatDuration(Date.parse(run.finishedAt) - Date.parse(run.startedAt)) : 'not finished';
  const files = run.files.length ? run.files.map((f) => `<code>${esc(f)}</code>`).join(' ') : '-';
  const s = run.settings;
  const header = `<h1>Run ${esc(run.id)}: ${esc(run.dataset)}, ${esc(run.status)}${run.exitCode === null ? '' : ` (exit ${esc(run.exitCode)})`}</h1>` +
    `<p class="sub">started ${esc(when(run.startedAt))}, finished ${esc(when(run.finishedAt) || '-')}, took ${esc(dur)} · times in ${esc(zoneName(o.generatedAt))}</p>` +
    (run.message ? `<p class="warn">${esc(run.message)}</p>` : '') +
    table(['', ''], [
      ['ledger', o.ledger], ['command', d.command],
      ['settings', s ? `qps ${s.qps ?? 'none'}, concurrency ${s.concurrency ?? '?'}, max attempts ${s.max_attempts ?? '?'}` : 'not recorded (an older version)'],
    ]).replace('<thead><tr><th></th><th></th></tr></thead>', '') + `<p>files: ${files}</p>`;
  const note = d.timingNote ? `<p class="note">${esc(d.timingNote)}</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>alipay-sync run ${esc(run.id)} (${esc(run.dataset)})</title><style>${CSS}</style></head>
<body>${header}${countsSection(d)}${note}${rateSection(d)}${latencySection(d)}${codesSection(d)}${keysSection(d)}
<p class="note">Made by alipay-sync ${esc(o.version)} on ${esc(localDateTime(o.generatedAt))} from the ledger; self-contained: it loads nothing.</p>
</body></html>
`;
}
