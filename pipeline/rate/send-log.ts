/**
 * The recent requests of one rate key, by send time, with how each was answered: what the controller's decisions
 * are measured on (requests sent, throttled, and presumed admitted in a span of send times). Send times only
 * increase, so a span is found by binary search; entries older than `keepMs` are dropped.
 */
export const PENDING = 0;
export const OK = 1;
export const LIMITED = 2;

export interface SpanStats {
  /** requests sent in the span */
  sent: number;
  /** of those, answered so far */
  answered: number;
  /** of those, answered 40005 or HTTP 429 */
  limited: number;
}

export class SendLog {
  private at: number[] = [];
  private state: number[] = [];
  /** index in the arrays of the entry with id 0 minus dropped entries: id - base = index */
  private base = 0;

  constructor(private readonly keepMs = 30_000) {}

  /** A request sent at `at` (never earlier than the last one); returns its id. */
  sent(at: number): number {
    const last = this.at.length ? this.at[this.at.length - 1]! : -Infinity;
    this.at.push(Math.max(at, last));
    this.state.push(PENDING);
    this.prune(at);
    return this.base + this.at.length - 1;
  }

  /** How request `id` was answered: admitted (OK) or throttled (LIMITED). Forgotten ids are ignored. */
  answered(id: number, how: typeof OK | typeof LIMITED): void {
    const i = id - this.base;
    if (i >= 0 && i < this.state.length) this.state[i] = how;
  }

  /** Requests sent in [from, to]. */
  stats(from: number, to: number): SpanStats {
    let i = this.firstAtOrAfter(from);
    const out: SpanStats = { sent: 0, answered: 0, limited: 0 };
    for (; i < this.at.length && this.at[i]! <= to; i++) {
      out.sent++;
      const s = this.state[i]!;
      if (s !== PENDING) out.answered++;
      if (s === LIMITED) out.limited++;
    }
    return out;
  }

  private firstAtOrAfter(t: number): number {
    let lo = 0;
    let hi = this.at.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.at[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private prune(now: number): void {
    if (this.at.length < 4096 || now - this.at[0]! < this.keepMs) return;
    const cut = this.firstAtOrAfter(now - this.keepMs);
    this.at = this.at.slice(cut);
    this.state = this.state.slice(cut);
    this.base += cut;
  }
}
