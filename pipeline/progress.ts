import { formatBytes, formatCount, formatDuration, formatElapsed, formatRate, localIso, perSecond } from './format.js';
import { claimStatusLine, drawStatusLine, isTty, lineWidth, releaseStatusLine, type StatusLine, type TtyStream } from './terminal.js';

export { formatCount, formatDuration } from './format.js';

/**
 * Progress for long work, in two forms:
 * - on a terminal, one status line redrawn in place a few times a second, fitted to the terminal's width (the
 *   least useful parts are left out first, never wrapped), with log lines written above it (terminal.ts);
 * - anywhere else (cron logs, CI), a timestamped line every `intervalMs` (10 s by default), and nothing between.
 * Both end with a final line saying how the work ended, how much and how fast.
 *
 * Why our own and not a progress-bar library: what matters here is deciding what to leave out at a given width,
 * sharing the line with the logger and a plain timestamped form for logs; cli-progress and log-update draw a
 * bar well but truncate (cutting numbers in half), know nothing of our logger, and print nothing useful off a
 * terminal. What is left to draw is a few lines of ASCII.
 */
export interface ProgressOptions {
  stream: TtyStream;
  label: string;
  total?: number;
  /** what `done`/`total` count: rows (default) or bytes (staging reads files: its total is their size) */
  unit?: 'rows' | 'bytes';
  /** off a terminal: between two lines (default 10 s); on a terminal: between redraws (default 200 ms) */
  intervalMs?: number;
  enabled?: boolean;
  clock?: () => number;
}

/** Extra parts of the line, most useful first (they are left out from the end when the line is too long). */
export type ProgressExtra = () => string[];

interface Part {
  text: string;
  /** lower is kept longer */
  rank: number;
}

const WINDOW_MS = 30_000;

export class Progress implements StatusLine {
  private done = 0;
  /** built only when a line is drawn: formatting numbers for every row costs more than the row */
  private extra: ProgressExtra = () => [];
  private readonly started: number;
  private readonly tty: boolean;
  private readonly enabled: boolean;
  private readonly interval: number;
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | null = null;
  /** (time, done) samples of the last WINDOW_MS: the rate the ETA uses follows changes (a slow-down) */
  private samples: [number, number][] = [];
  private finished = false;

  constructor(private readonly o: ProgressOptions) {
    this.clock = o.clock ?? Date.now;
    this.started = this.clock();
    this.tty = isTty(o.stream);
    this.enabled = o.enabled !== false;
    this.interval = o.intervalMs ?? (this.tty ? 200 : 10_000);
    if (!this.enabled) return;
    if (this.tty) claimStatusLine(o.stream, this);
    // A timer, not update(): the line keeps moving while no row finishes (backoff), and off a terminal lines
    // come at a fixed interval whatever the rows do.
    this.timer = setInterval(() => this.tick(), this.interval);
    this.timer.unref();
  }

  get elapsedMs(): number {
    return this.clock() - this.started;
  }

  update(done: number, extra?: ProgressExtra): void {
    this.done = done;
    if (extra) this.extra = extra;
  }

  /** The status line fitted to the stream's width (terminal.ts calls this to draw it). */
  text(): string {
    return this.line(lineWidth(this.o.stream));
  }

  /** The line, leaving parts out (least useful first) until it fits in `width` columns. */
  line(width = Infinity): string {
    const now = this.clock();
    const rate = this.rate(now);
    const total = this.o.total;
    const bytes = this.o.unit === 'bytes';
    const amount = (n: number) => (bytes ? formatBytes(n) : formatCount(n));
    const parts: Part[] = [{ text: this.o.label, rank: 0 }];
    let fraction: number | null = null;
    if (total !== undefined && total > 0) {
      fraction = Math.min(1, this.done / total);
      // narrowest first: the percentage and the ETA, then the counts, then the rate
      parts.push({ text: `${amount(this.done)}/${amount(total)}`, rank: 3 }, { text: `${(100 * fraction).toFixed(1)}%`, rank: 1 });
      const eta = rate > 0 ? ((total - this.done) / rate) * 1000 : Infinity;
      parts.push({ text: `${bytes ? formatBytes(rate) : formatRate(rate)}/s`, rank: 4 }, { text: `ETA ${formatDuration(eta)}`, rank: 2 });
    } else {
      parts.push({ text: bytes ? formatBytes(this.done) : formatCount(this.done), rank: 1 }, { text: `${bytes ? formatBytes(rate) : formatRate(rate)}/s`, rank: 4 });
    }
    const extras = this.extra();
    return fit(parts, extras, fraction, width);
  }

  /** Rate over the last 30 s (the whole run until 2 s have passed), per second. */
  private rate(now: number): number {
    const last = this.samples[this.samples.length - 1];
    if (!last || now - last[0] >= 500) this.samples.push([now, this.done]);
    while (this.samples.length > 2 && now - this.samples[1]![0] > WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const span = now - first[0];
    if (span >= 2000) return ((this.done - first[1]) * 1000) / span;
    // the whole phase so far, counted as at least one second (perSecond's rule)
    return perSecond(this.done, Math.max(1000, now - this.started))!;
  }

  private tick(): void {
    if (this.finished) return;
    if (this.tty) drawStatusLine(this.o.stream);
    else this.o.stream.write(`${localIso(this.clock())} ${this.line()}\n`);
  }

  /**
   * The final line, in place of the status line: how the work ended (`done`, `stopped`), how much and how fast.
   * Off a terminal it carries a timestamp like the others.
   */
  finish(how: 'done' | 'stopped' = 'done'): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.enabled) return;
    const elapsed = this.elapsedMs;
    const bytes = this.o.unit === 'bytes';
    const amount = bytes ? formatBytes(this.done) : formatCount(this.done);
    const total = this.o.total !== undefined && how === 'stopped' && this.o.total > 0 ? `/${bytes ? formatBytes(this.o.total) : formatCount(this.o.total)}` : '';
    const rate = perSecond(this.done, elapsed);
    const speed = rate !== null && !bytes ? ` (${formatRate(rate)}/s)` : '';
    const head: Part[] = [{ text: `${this.o.label}: ${how} ${amount}${total} in ${formatElapsed(elapsed)}${speed}`, rank: 0 }];
    const width = lineWidth(this.o.stream);
    const last = fit(head, this.extra(), null, width);
    if (this.tty) releaseStatusLine(this.o.stream, this, last);
    else this.o.stream.write(`${localIso(this.clock())} ${last}\n`);
  }

  /** Same as finish('done'). */
  stop(): void {
    this.finish('done');
  }
}

/**
 * Join the parts (then the extras, after " | ") into at most `width` columns: extras go first, from the last,
 * then parts by rank; a bar is drawn in what room is left when there is a fraction to show. Only ASCII is
 * used, so a character is a column whatever the terminal's idea of ambiguous widths.
 */
function fit(parts: Part[], extras: string[], fraction: number | null, width: number): string {
  const all: Part[] = [...parts, ...extras.map((text, i) => ({ text, rank: 10 + i }))];
  const render = (kept: Part[]) => {
    const main = kept.filter((p) => p.rank < 10).map((p) => p.text).join(' ');
    const more = kept.filter((p) => p.rank >= 10).map((p) => p.text).join(', ');
    return more ? `${main} | ${more}` : main;
  };
  let kept = all;
  let text = render(kept);
  while (text.length > width && kept.length > 1) {
    const worst = kept.reduce((a, b) => (b.rank > a.rank ? b : a));
    kept = kept.filter((p) => p !== worst);
    text = render(kept);
  }
  if (text.length > width) return text.slice(0, Math.max(0, width));
  // A bar in the room left (a terminal only: width is finite there), between the label and the numbers.
  const room = width - text.length - 3;
  if (fraction !== null && Number.isFinite(width) && room >= 10 && kept.length === all.length) {
    const size = Math.min(30, room);
    const filled = Math.round(fraction * size);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(size - filled)}]`;
    const label = kept[0]!.text;
    text = `${label} ${bar}${text.slice(label.length)}`;
  }
  return text;
}
