import type { LearnedRate, RateKey } from '../../state/ledger.js';
import { Pacer } from '../rate-limit.js';
import { decide, initialState, learned, type ControlParams, type ControlState, type Observation } from './controller.js';
import { LIMITED, OK, SendLog } from './send-log.js';

/**
 * One (app, merchant, method)'s rate: the controller's state (controller.ts, pure decisions), the log of its
 * recent requests those decisions are measured on, and the pacer that spaces its requests at the rate decided.
 */
export class AdaptiveRate {
  readonly pacer: Pacer;
  private state: ControlState;
  private readonly log = new SendLog();
  /** 40005 and 429 answers seen, for the summary */
  throttled = 0;
  /** answers that got past the quota */
  admitted = 0;
  /** where it started: what an earlier run learned, if anything */
  readonly startedFrom: Pick<LearnedRate, 'rate' | 'quota' | 'noise'> | null;

  constructor(
    readonly key: RateKey,
    private readonly params: ControlParams,
    now: number,
    start?: Pick<LearnedRate, 'rate' | 'quota' | 'noise'> | null,
    suspectDaily = false,
  ) {
    this.startedFrom = start ?? null;
    this.state = initialState(params, now, start, suspectDaily);
    // Spaced exactly at the rate: the margin under a measured quota is the controller's (--qps keeps its 2%). A
    // start late by up to one interval is made up by the next (two may then go together, never more than the
    // one-second cap): what counts is the rate the quota sees. More bunched the requests the quota refused.
    this.pacer = new Pacer({ rate: this.state.rate, spacing: 1 });
    this.follow();
  }

  /** The pacer at the rate decided, making up one interval of lateness (at most 50 ms). */
  private follow(): void {
    this.pacer.rate = this.state.rate;
    this.pacer.catchUpMs = Math.min(50, 1000 / Math.max(1, this.state.rate));
  }

  get rate(): number {
    return this.state.rate;
  }

  get quota(): number | null {
    return this.state.quota;
  }

  /** Why the daily quota is spent, or null. */
  get daily(): string | null {
    return this.state.daily;
  }

  /** The earliest the next request may start. */
  nextAt(now: number): number {
    return this.pacer.nextAt(now);
  }

  /** A request starts now: its slot is taken; returns its id in the log. */
  start(now: number): number {
    this.pacer.started(now);
    return this.log.sent(now);
  }

  /** Its answer: the controller decides, the pacer follows. */
  answer(id: number, o: Observation): void {
    if (o.answer !== 'ok') this.throttled++;
    else this.admitted++;
    this.log.answered(id, o.answer === 'ok' ? OK : LIMITED);
    this.state = decide(this.state, o, (from, to) => this.log.stats(from, to), this.params);
    this.follow();
  }

  /** The day's quota is back (its reset passed): ask again, at the rate learned, the first 40005 saying it is not. */
  quotaReset(now: number): void {
    this.state = initialState(this.params, now, this.learned(), true);
    this.follow();
  }

  /** What to keep in the ledger (null: nothing learned). */
  learned(): LearnedRate | null {
    const l = learned(this.state, this.params.ceiling);
    return l ? { ...this.key, ...l } : null;
  }
}
