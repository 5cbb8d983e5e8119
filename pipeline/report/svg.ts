/**
 * The few SVG pieces the run report's charts are made of, written as text: no library, no script, nothing
 * fetched. Every chart is a fixed-size viewBox scaled by CSS to the page's width.
 */

/** Text for HTML and SVG (element content and attribute values). */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A round number at or above `v` (1, 2, 2.5, 5 × 10^n), for an axis's top. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** `n` evenly spaced ticks from 0 to max (inclusive). */
export function ticks(max: number, n = 5): number[] {
  return Array.from({ length: n + 1 }, (_, i) => (max * i) / n);
}

/** A number for an axis label: no more digits than it needs. */
export function axisNumber(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return String(Math.round(v * 10) / 10);
  return String(Math.round(v * 100) / 100);
}

/** Elapsed seconds as 0:45, 12:05 or 1:02:03. */
export function clockLabel(s: number): string {
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export const plotWidth = (f: Frame) => f.width - f.left - f.right;
export const plotHeight = (f: Frame) => f.height - f.top - f.bottom;

/** The <svg> element around a chart's parts, with a title for screen readers and a class for tests and CSS. */
export function svg(f: Frame, cls: string, title: string, body: string[]): string {
  return `<svg class="chart ${esc(cls)}" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg"><title>${esc(title)}</title>${body.join('')}</svg>`;
}

/** Y axis: grid lines and labels from 0 to max. */
export function yAxis(f: Frame, max: number, unit = ''): string[] {
  const out: string[] = [];
  for (const v of ticks(max)) {
    const y = f.top + plotHeight(f) * (1 - v / max);
    out.push(`<line class="grid" x1="${f.left}" x2="${f.width - f.right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}"/>`);
    out.push(`<text class="tick" x="${f.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${esc(axisNumber(v) + unit)}</text>`);
  }
  return out;
}

/** X axis labels at `n` places along the plot, each label made by `label(fraction)`. */
export function xAxis(f: Frame, n: number, label: (fraction: number) => string): string[] {
  const out: string[] = [`<line class="axis" x1="${f.left}" x2="${f.width - f.right}" y1="${f.height - f.bottom}" y2="${f.height - f.bottom}"/>`];
  for (let i = 0; i <= n; i++) {
    const x = f.left + (plotWidth(f) * i) / n;
    out.push(`<text class="tick" x="${x.toFixed(1)}" y="${f.height - f.bottom + 16}" text-anchor="${i === 0 ? 'start' : i === n ? 'end' : 'middle'}">${esc(label(i / n))}</text>`);
  }
  return out;
}

/** A horizontal line across the plot at value v, with a label at its right end. */
export function level(f: Frame, max: number, v: number, cls: string, label: string): string {
  const y = f.top + plotHeight(f) * (1 - Math.min(v, max) / max);
  return `<line class="${esc(cls)}" x1="${f.left}" x2="${f.width - f.right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}"/>` +
    `<text class="level-label ${esc(cls)}-label" x="${f.width - f.right - 4}" y="${(y - 4).toFixed(1)}" text-anchor="end">${esc(label)}</text>`;
}

/** One horizontal bar per item, the label at the left and the value after the bar. */
export function barList(items: readonly { label: string; value: number; cls?: string }[], o: { width?: number; title: string; cls: string }): string {
  const width = o.width ?? 900;
  const rowH = 22;
  const labelW = 300;
  const f: Frame = { width, height: Math.max(1, items.length) * rowH + 8, left: labelW, right: 90, top: 4, bottom: 4 };
  const max = Math.max(1, ...items.map((i) => i.value));
  const body = items.map((it, k) => {
    const y = f.top + k * rowH;
    const w = Math.max(1, (plotWidth(f) * it.value) / max);
    return `<text class="bar-label" x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(it.label.length > 42 ? it.label.slice(0, 41) + '…' : it.label)}</text>` +
      `<rect class="bar ${esc(it.cls ?? '')}" x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}"><title>${esc(`${it.label}: ${it.value.toLocaleString('en-US')}`)}</title></rect>` +
      `<text class="bar-value" x="${(labelW + w + 6).toFixed(1)}" y="${y + 15}">${esc(it.value.toLocaleString('en-US'))}</text>`;
  });
  return svg(f, o.cls, o.title, body);
}
