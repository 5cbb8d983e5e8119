import type { ReportData } from './data.js';
import { clockLabel, esc, level, niceMax, plotHeight, plotWidth, svg, xAxis, yAxis, type Frame } from './svg.js';

/** The run report's three drawn charts: send rate over time, latency histogram, counts as one stacked bar. */

const WIDE: Omit<Frame, 'height'> = { width: 900, left: 60, right: 20, top: 26, bottom: 34 };

/**
 * Requests started per second over the run (bars), the rate the limiter allowed (a stepped line: it halves on
 * 40005 and climbs back), the --qps ceiling and the learned rate (levels), and each step with 40005 answers
 * marked above the plot (a red mark with how many, in its tooltip).
 */
export function rateChart(d: ReportData): string {
  const f: Frame = { ...WIDE, height: 300 };
  const steps = d.steps;
  const top = Math.max(1, ...steps.map((s) => s.rate), ...steps.map((s) => s.limit ?? 0), d.qps ?? 0, d.learnedRate ?? 0);
  const max = niceMax(top * 1.08);
  const span = steps.length * d.step;
  const w = plotWidth(f) / Math.max(1, steps.length);
  const h = plotHeight(f);
  const y = (v: number) => f.top + h * (1 - Math.min(v, max) / max);
  const body = [...yAxis(f, max, '/s'), ...xAxis(f, 6, (fr) => clockLabel(fr * span))];
  steps.forEach((s, i) => {
    if (s.rate <= 0) return;
    const x = f.left + i * w;
    body.push(`<rect class="rate-bar" x="${x.toFixed(2)}" y="${y(s.rate).toFixed(2)}" width="${Math.max(0.8, w - (w > 3 ? 1 : 0)).toFixed(2)}" height="${(f.top + h - y(s.rate)).toFixed(2)}"><title>${esc(`${clockLabel(s.t)}: ${s.rate.toFixed(1)} requests/s`)}</title></rect>`);
  });
  // the limiter's rate as a stepped line (only while it had a ceiling)
  let path = '';
  steps.forEach((s, i) => {
    if (s.limit === null) return;
    const x0 = f.left + i * w;
    path += `${path === '' || steps[i - 1]?.limit === null ? 'M' : 'L'}${x0.toFixed(1)},${y(s.limit).toFixed(1)}L${(x0 + w).toFixed(1)},${y(s.limit).toFixed(1)}`;
  });
  if (path) body.push(`<path class="limit-line" d="${path}"><title>the rate the limiter allowed</title></path>`);
  if (d.qps !== null) body.push(level(f, max, d.qps, 'qps-line', `--qps ${d.qps}`));
  if (d.learnedRate !== null) body.push(level(f, max, d.learnedRate, 'learned-line', `learned ${d.learnedRate.toFixed(1)}/s`));
  steps.forEach((s, i) => {
    if (s.slowDowns === 0) return;
    const cx = f.left + (i + 0.5) * w;
    body.push(`<path class="slowdown" d="M${(cx - 5).toFixed(1)},${f.top - 14}L${(cx + 5).toFixed(1)},${f.top - 14}L${cx.toFixed(1)},${f.top - 4}Z"><title>${esc(`${clockLabel(s.t)}: ${s.slowDowns} × 40005 (slow down)`)}</title></path>`);
  });
  body.push(`<text class="axis-title" x="${f.left}" y="12">requests per second</text>`);
  body.push(`<text class="axis-title" x="${f.width - f.right}" y="${f.height - 2}" text-anchor="end">time since sending started${d.step > 1 ? ` (steps of ${d.step} s)` : ''}</text>`);
  return svg(f, 'rate-chart', 'Send rate over time', body);
}

/** Answer latency: how many answers took how long (log scale), with the percentiles marked. */
export function latencyChart(d: ReportData): string {
  const f: Frame = { ...WIDE, height: 240 };
  const bins = d.histogram;
  const max = niceMax(Math.max(1, ...bins.map((b) => b.count)) * 1.05);
  const lo = Math.log(Math.max(0.5, (bins[0]?.upperMs ?? 1) / 1.1));
  const hi = Math.log(Math.max(2, bins[bins.length - 1]?.upperMs ?? 2));
  const x = (ms: number) => f.left + (plotWidth(f) * (Math.log(Math.max(ms, 0.5)) - lo)) / (hi - lo || 1);
  const body = [...yAxis(f, max), ...xAxis(f, 5, (fr) => `${msLabel(Math.exp(lo + fr * (hi - lo)))}`)];
  for (const b of bins) {
    const x1 = x(b.upperMs);
    const x0 = Math.min(x1 - 1, x(b.upperMs / 1.1));
    const y = f.top + plotHeight(f) * (1 - b.count / max);
    body.push(`<rect class="latency-bar" x="${x0.toFixed(2)}" y="${y.toFixed(2)}" width="${Math.max(1, x1 - x0 - 0.5).toFixed(2)}" height="${(f.top + plotHeight(f) - y).toFixed(2)}"><title>${esc(`≤ ${msLabel(b.upperMs)}: ${b.count.toLocaleString('en-US')} answers`)}</title></rect>`);
  }
  for (const [name, v] of [['p50', d.latency.p50], ['p95', d.latency.p95], ['p99', d.latency.p99]] as const) {
    if (v === null) continue;
    const px = x(v);
    body.push(`<line class="percentile" x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${f.top}" y2="${f.top + plotHeight(f)}"/>`);
    body.push(`<text class="percentile-label" x="${(px + 3).toFixed(1)}" y="${f.top + 10}">${esc(`${name} ${msLabel(v)}`)}</text>`);
  }
  body.push(`<text class="axis-title" x="${f.left}" y="12">answers</text>`);
  body.push(`<text class="axis-title" x="${f.width - f.right}" y="${f.height - 2}" text-anchor="end">time to answer (log scale)</text>`);
  return svg(f, 'latency-chart', 'Answer latency', body);
}

export function msLabel(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s`;
  return `${ms >= 10 ? Math.round(ms) : ms.toFixed(1)} ms`;
}

/** read = rejected + superseded + unchanged + uploaded + failed + pending, as one bar split into its parts. */
export function countsChart(d: ReportData): string {
  const c = d.counts!;
  const f: Frame = { width: 900, height: 64, left: 10, right: 10, top: 8, bottom: 24 };
  const total = Math.max(1, c.read);
  let x = f.left;
  const body: string[] = [];
  for (const p of c.parts) {
    if (p.value === 0) continue;
    const w = Math.max(2, (plotWidth(f) * p.value) / total);
    body.push(`<rect class="part part-${esc(p.name)}" x="${x.toFixed(1)}" y="${f.top}" width="${w.toFixed(1)}" height="${plotHeight(f)}"><title>${esc(`${p.name}: ${p.value.toLocaleString('en-US')}`)}</title></rect>`);
    if (w > 70) body.push(`<text class="part-label" x="${(x + 6).toFixed(1)}" y="${f.top + 21}">${esc(`${p.name} ${p.value.toLocaleString('en-US')}`)}</text>`);
    x += w;
  }
  body.push(`<text class="tick" x="${f.left}" y="${f.height - 6}">0</text>`);
  body.push(`<text class="tick" x="${f.width - f.right}" y="${f.height - 6}" text-anchor="end">${esc(`read ${c.read.toLocaleString('en-US')}`)}</text>`);
  return svg(f, 'counts-chart', 'Where every row read went', body);
}
