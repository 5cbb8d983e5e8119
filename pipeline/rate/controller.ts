/**
 * The rate controller's decisions, as a pure function: the state and one answer in (with what the recent
 * requests show), the next state out. No clock, no timer, no storage: pipeline/rate/adaptive.ts feeds it, the
 * ledger keeps what it learned (LearnedRate), and test/rate-controller.test.ts drives it on virtual time.
 *
 * Alipay publishes no quota; its only signal is 40005 (a proxy's is HTTP 429). A per-second quota admits at most
 * Q requests in any one-second window, so while we send faster than Q the requests *admitted* in the second
 * before a 40005 number Q: that count is the quota, measured. So, instead of halving and climbing back (a
 * sawtooth that averages ~75% of the quota, and that a proxy's random 429s pin near nothing):
 *
 * - on a 40005 or 429 that is not explained by the background share (below), the rate becomes the number
 *   admitted in the second before it was sent; the next second tests the decision: if the throttled share fell,
 *   it was the quota (now known); if it did not, the rejections do not follow the rate (a proxy's noise, a
 *   fault): after a total fall of 20% without effect the rate goes back to where it was, and that share is
 *   recorded as background, so that later rejections count only above it;
 * - every `probeMs` without rejection the rate climbs: straight back to the known quota, then by 1%, 2%, 4%…
 *   (from 10% when no quota is known), so a run sits within a few percent under its quota and finds a raised one;
 * - answers to requests sent before the last decrease took hold (`holdMs`: the quota's window still holds the
 *   faster requests) say nothing new and are ignored;
 * - a daily quota is not a rate: `daily` is set when Alipay says so (see daily.ts) or when nothing at all was
 *   admitted for `dailyAfterMs` while 40005s kept coming; the caller then stops asking until it resets.
 */

export interface ControlParams {
  /** --qps: the rate is never above it (Infinity: none) */
  ceiling: number;
  /** the quota's window */
  windowMs: number;
  /** after a decrease, answers to requests sent within this are ignored (the window still holds faster requests) */
  holdMs: number;
  /** time without rejection between two steps up */
  probeMs: number;
  /** the rate never goes below this */
  minRate: number;
  /** 40005s for this long with nothing admitted: the daily quota is spent */
  dailyAfterMs: number;
  /** answered requests a test of a decrease needs (or five windows) */
  testMinAnswers: number;
  /** how far under a measured quota to send (arrivals jitter by a few ms, a window may then hold one more) */
  margin: number;
}

export const DEFAULT_PARAMS: Omit<ControlParams, 'ceiling'> = Object.freeze({
  windowMs: 1000, holdMs: 1000, probeMs: 5000, minRate: 0.5, dailyAfterMs: 60_000, testMinAnswers: 20, margin: 0.01,
});

/** Plain data: the whole state of one (app, merchant, method). */
export interface ControlState {
  /** requests per second to send at (its pacer spaces them exactly: the margin is the controller's) */
  rate: number;
  /** the quota as measured (admitted per window while it was reached), null until it was */
  quota: number | null;
  /** share of rejections that do not follow the rate (0 to 1) */
  noise: number;
  /** when the rate last changed, and last went down */
  changedAt: number;
  decreasedAt: number;
  /** the next step up, as a fraction */
  step: number;
  /** the rate before a series of decreases that have not shown an effect yet */
  anchor: number | null;
  /** a decrease under test: the rate before it, the throttled share and the admitted count that led to it */
  test: { from: number; share: number; at: number; measured: number } | null;
  /** since when nothing was admitted while 40005s came, and how many */
  limitedSince: number | null;
  limitedCount: number;
  /** a stored quota stop not yet past: the first 40005 means the daily quota is still spent */
  suspectDaily: boolean;
  /** the daily quota is spent: why (null: it is not) */
  daily: string | null;
}

/** One answer: how it went, when its request was sent, when it came; `dailyHint`: Alipay said the day's quota is spent. */
export interface Observation {
  sentAt: number;
  now: number;
  /** limited: 40005 (Alipay's quota); throttled: HTTP 429 (a proxy's); ok: admitted (whatever the business outcome) */
  answer: 'ok' | 'limited' | 'throttled';
  dailyHint?: string | null;
}

/** What the controller may ask of the recent requests: counts over a span of send times (see SendLog). */
export type Span = (from: number, to: number) => { sent: number; answered: number; limited: number };

/** Where a key starts: at what was learned (below the ceiling), or at the ceiling. */
export function initialState(params: ControlParams, now: number, learned?: { rate: number; quota: number | null; noise: number } | null, suspectDaily = false): ControlState {
  const quota = learned?.quota ?? null;
  const rate = Math.max(params.minRate, Math.min(params.ceiling, quota !== null ? quota * (1 - params.margin) : learned?.rate ?? params.ceiling));
  return {
    rate, quota, noise: learned?.noise ?? 0, changedAt: now, decreasedAt: -Infinity, step: quota === null ? 0.1 : 0.01,
    anchor: null, test: null, limitedSince: null, limitedCount: 0, suspectDaily, daily: null,
  };
}

/**
 * Whether `limited` of `answered` is more than the background share explains (by three standard deviations: it
 * is asked at every rejection, so a looser test would find a fluke every few seconds).
 */
function excessive(limited: number, answered: number, noise: number): boolean {
  if (answered === 0) return false;
  const share = limited / answered;
  const spread = noise > 0 ? 3 * Math.sqrt((noise * (1 - noise)) / answered) : 0;
  return share - noise > spread;
}

/** The next state after one answer. */
export function decide(state: ControlState, o: Observation, span: Span, p: ControlParams): ControlState {
  let s: ControlState = { ...state };
  if (s.daily) return s;
  // 1. The daily quota: said by Alipay, or nothing admitted for a long time (a rate is no remedy for either).
  if (o.answer === 'limited') {
    if (s.limitedSince === null) s.limitedSince = o.now;
    s.limitedCount++;
    if (o.dailyHint) return { ...s, daily: o.dailyHint };
    if (s.suspectDaily) return { ...s, daily: 'the daily quota found spent earlier is still spent' };
    if (o.now - s.limitedSince >= p.dailyAfterMs && s.limitedCount >= 3) {
      return { ...s, daily: `nothing was admitted for ${Math.round((o.now - s.limitedSince) / 1000)} s while 40005 kept coming` };
    }
  } else if (o.answer === 'ok') {
    s.limitedSince = null;
    s.limitedCount = 0;
    s.suspectDaily = false;
  }
  // 2. A decrease under test is judged once a window of requests sent after it took hold has been answered.
  if (s.test) s = judge(s, o.now, span, p);
  if (s.test) return s;
  // 3. A rejection: measure what the quota admitted in the second before it, and send at that.
  if (o.answer !== 'ok') {
    if (o.sentAt < s.decreasedAt + p.holdMs) return s;
    const w = span(o.sentAt - p.windowMs, o.sentAt);
    if (w.limited < 2 && w.answered < 5) return s; // too little to tell anything
    if (!excessive(w.limited, w.answered, s.noise)) return s; // the background share
    // With a background share, one second over it can be a fluke: the second before must have been over it too.
    if (s.noise > 0) {
      const before = span(o.sentAt - 2 * p.windowMs, o.sentAt - p.windowMs);
      if (!excessive(before.limited, before.answered, s.noise)) return s;
    }
    // Admitted: answered and not refused. (Requests still unanswered are not counted: this is then a lower bound
    // of the quota, never above it; the probes find the rest.)
    const admitted = w.answered - w.limited;
    if (admitted === 0) return s; // nothing admitted: a rate tells nothing (the daily check above decides)
    const next = Math.max(p.minRate, Math.min(s.rate, (admitted * (1 - p.margin)) / (1 - s.noise)));
    if (next >= s.rate) return s;
    return {
      ...s, rate: next, changedAt: o.now, decreasedAt: o.now, anchor: s.anchor ?? s.rate,
      test: { from: s.rate, share: w.limited / Math.max(1, w.answered), at: o.now, measured: admitted },
    };
  }
  // 4. Admitted: step up after a quiet while.
  if (o.now - s.changedAt < p.probeMs || s.rate >= p.ceiling) return s;
  const quiet = span(o.now - p.probeMs, o.now);
  if (excessive(quiet.limited, quiet.answered, s.noise)) return s;
  if (quiet.limited === 0 && s.noise > 0) s.noise = s.noise < 0.002 ? 0 : s.noise / 2;
  // A quota admits no more than itself: a second that admitted more proves the one measured too low (a fluke of
  // the background taken for the quota).
  if (s.quota !== null) {
    const last = span(o.now - p.windowMs, o.now);
    s.quota = Math.max(s.quota, last.answered - last.limited);
  }
  const back = s.quota !== null && s.rate < s.quota * 0.97;
  const up = back ? s.quota! * (1 - p.margin) : s.rate * (1 + s.step);
  return { ...s, rate: Math.min(p.ceiling, up), changedAt: o.now, anchor: null, step: back ? s.step : Math.min(0.5, s.step * 2) };
}

/** Judge the decrease under test: did the throttled share fall (the quota, measured), or not (background)? */
function judge(s: ControlState, now: number, span: Span, p: ControlParams): ControlState {
  const t = s.test!;
  const from = t.at + p.holdMs;
  if (now < from + p.windowMs) return s;
  const w = span(from, now);
  if (w.answered < p.testMinAnswers && now < from + 5 * p.windowMs) return s;
  if (w.answered === 0) return { ...s, test: null };
  const share = w.limited / w.answered;
  // The share before: of every request sent until the decrease took hold (all answered by now), not only of those
  // answered when the first rejection came: sending far over a quota, nearly all the rest were refused too.
  const b = span(t.at - p.windowMs, from);
  const before = Math.max(t.share, b.limited / Math.max(1, b.answered));
  // (A share under 5% after the decrease is a quota found too: one late request bunched with the next can be refused.)
  if (share < Math.max(before / 2, 0.05)) {
    // It was the quota: the rate that stopped the rejections is what it admits.
    return { ...s, test: null, anchor: null, quota: t.measured, step: 0.01 };
  }
  const anchor = s.anchor ?? t.from;
  if (s.rate <= anchor * 0.8) {
    // 20% slower and still rejected as often: not the rate. Back to where it was; that share is background.
    return { ...s, test: null, anchor: null, rate: anchor, changedAt: now, noise: Math.min(0.9, Math.max(s.noise, share)) };
  }
  // Inconclusive (a small decrease): keep it; a next rejection may go further down, and the anchor remembers.
  return { ...s, test: null };
}

/** What to keep in the ledger for the next run (null: nothing was learned, it starts at the ceiling again). */
export function learned(s: ControlState, ceiling: number): { rate: number; quota: number | null; noise: number } | null {
  // A decrease still under test when the run ends: what it measured is the best guess of the quota (the common case).
  const quota = s.quota ?? s.test?.measured ?? null;
  if (quota === null && s.noise === 0 && s.rate >= ceiling) return null;
  return { rate: quota ?? s.rate, quota, noise: s.noise };
}
