/**
 * How numbers, sizes, durations and times are written for people (progress, summaries, status, the report):
 * one place, so every output speaks the same way. Machines get raw numbers and ISO times (--json).
 */

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** 42s, 3m07s, 5h12m; '?' when unknown (an ETA with no rate yet) */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** 512 B, 12.3 KB, 4.0 MB, 1.2 GB (powers of 1024, as `ls -h` and file managers show them) */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** A rate per second: 3 significant figures, never "0.0" for a slow but non-zero rate. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  if (perSecond >= 100) return formatCount(Math.round(perSecond));
  if (perSecond >= 10) return perSecond.toFixed(1);
  return perSecond.toFixed(2);
}

/**
 * The one rate of a phase, in the progress line, its final line, the run report and the metrics: rows done over
 * the seconds it has taken. Under one second there is no rate to speak of (12 rows in 0.2 s are not "60/s" at
 * --qps 50): null, and the time is shown as "<1s".
 */
export function perSecond(done: number, elapsedMs: number): number | null {
  return elapsedMs >= 1000 ? (done * 1000) / elapsedMs : null;
}

/** How long a phase took, as the final line says it: "<1s" under a second. */
export function formatElapsed(ms: number): string {
  return ms < 1000 ? '<1s' : formatDuration(ms);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The host's UTC offset at that moment, as +08:00 (daylight saving time included). */
export function utcOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** Local date and time to the second, ISO 8601 with the offset: 2026-11-22T02:30:10+08:00 (logs, TSV). */
export function localIso(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${utcOffset(d)}`;
}

/** Local date and time for a table cell: 2026-11-22 02:30:10 (the zone is named once, in the heading). */
export function localDateTime(ms: number): string {
  return localIso(ms).slice(0, 19).replace('T', ' ');
}

/** The host's time zone, for headings: "Asia/Shanghai, +08:00" (or only the offset when the zone has no name). */
export function zoneName(at: number = Date.now()): string {
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const off = utcOffset(new Date(at));
  return name ? `${name}, ${off}` : off;
}
