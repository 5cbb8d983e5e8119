/**
 * Progress for long work. On a TTY one line is redrawn a few times a second (done/total, rate, ETA); anywhere
 * else (cron logs, CI) a plain line is printed every `intervalMs`, so logs stay readable and grep-able.
 */
export interface ProgressOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  label: string;
  total?: number;
  intervalMs?: number;
  enabled?: boolean;
  clock?: () => number;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export class Progress {
  private done = 0;
  /** built only when a line is drawn: formatting numbers for every row costs more than the row */
  private extra: string | (() => string) = '';
  private readonly started: number;
  private lastDraw = 0;
  private readonly tty: boolean;
  private readonly interval: number;
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: ProgressOptions) {
    this.clock = o.clock ?? Date.now;
    this.started = this.clock();
    this.tty = Boolean(o.stream.isTTY);
    this.interval = o.intervalMs ?? (this.tty ? 200 : 10_000);
    if (o.enabled !== false) {
      // A timer keeps a quiet TTY line moving (rate, ETA) even while no row finishes, e.g. during backoff.
      this.timer = setInterval(() => this.draw(false), this.interval);
      this.timer.unref();
    }
  }

  update(done: number, extra: string | (() => string) = ''): void {
    this.done = done;
    this.extra = extra;
    if (this.clock() - this.lastDraw >= this.interval) this.draw(false);
  }

  line(): string {
    const elapsed = this.clock() - this.started;
    const rate = elapsed > 0 ? (this.done * 1000) / elapsed : 0;
    const total = this.o.total;
    let s = `${this.o.label}: ${formatCount(this.done)}`;
    if (total !== undefined && total > 0) {
      const pct = ((100 * this.done) / total).toFixed(1);
      const eta = rate > 0 ? ((total - this.done) / rate) * 1000 : Infinity;
      s += `/${formatCount(total)} (${pct}%) · ${rate.toFixed(1)}/s · ETA ${formatDuration(eta)}`;
    } else {
      s += ` · ${rate.toFixed(0)}/s`;
    }
    const extra = typeof this.extra === 'function' ? this.extra() : this.extra;
    if (extra) s += ` · ${extra}`;
    return s;
  }

  private draw(final: boolean): void {
    if (this.o.enabled === false) return;
    this.lastDraw = this.clock();
    if (this.tty) this.o.stream.write(`\r\x1b[K${this.line()}${final ? '\n' : ''}`);
    else if (!final) this.o.stream.write(this.line() + '\n');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.o.enabled !== false && this.tty) this.draw(true);
  }
}
