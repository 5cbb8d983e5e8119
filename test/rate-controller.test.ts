import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveRate } from '../pipeline/rate/adaptive.js';
import { DEFAULT_PARAMS, type ControlParams } from '../pipeline/rate/controller.js';
import { dailyQuotaHint, describeReset, nextQuotaReset } from '../pipeline/rate/daily.js';
import type { LearnedRate } from '../state/ledger.js';

/**
 * The controller on virtual time against a model of the gateway: a sliding one-second quota of `quota` admitted
 * requests (what the sandbox does), and/or a share of answers a proxy throttles whatever the rate. Requests take
 * `latencyMs`; the simulation measures what the gateway saw, as the benchmark does on real time.
 */
function simulate(o: { quota?: number; noise?: number; ceiling: number; seconds: number; start?: LearnedRate | null; latencyMs?: number; daily?: boolean }) {
  const params: ControlParams = { ...DEFAULT_PARAMS, ceiling: o.ceiling };
  const rate = new AdaptiveRate({ appId: 'a', merchant: '', method: 'm' }, params, 0, o.start ?? null);
  const latency = o.latencyMs ?? 5;
  const admitted: number[] = [];
  const log: { at: number; ok: boolean }[] = [];
  const answers: { at: number; id: number; sentAt: number; ok: boolean; throttled: boolean }[] = [];
  let seed = 12345;
  const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  let now = 0;
  const end = o.seconds * 1000;
  const rates: number[] = [];
  while (now < end && !rate.daily) {
    const t = Math.max(now, rate.nextAt(now));
    while (answers.length && answers[0]!.at <= t) {
      const a = answers.shift()!;
      rate.answer(a.id, { sentAt: a.sentAt, now: a.at, answer: a.ok ? 'ok' : a.throttled ? 'throttled' : 'limited' });
      rates.push(rate.rate);
    }
    now = t;
    const id = rate.start(now);
    const arrival = now + latency / 2;
    let ok = true;
    let throttled = false;
    if (o.noise && random() < o.noise) {
      ok = false;
      throttled = true;
    } else if (o.daily) {
      ok = false;
    } else if (o.quota !== undefined) {
      while (admitted.length && arrival - admitted[0]! >= 1000) admitted.shift();
      if (admitted.length >= o.quota) ok = false;
      else admitted.push(arrival);
    }
    log.push({ at: arrival, ok });
    answers.push({ at: now + latency, id, sentAt: now, ok, throttled });
  }
  const within = (from: number, to: number) => log.filter((r) => r.at >= from * 1000 && r.at < to * 1000);
  return {
    rate,
    rates,
    /** admitted per second over [from, to) s */
    achieved(from: number, to: number) {
      return within(from, to).filter((r) => r.ok).length / (to - from);
    },
    limitedShare(from: number, to: number) {
      const w = within(from, to);
      return w.filter((r) => !r.ok).length / w.length;
    },
  };
}

test('a per-second quota far below --qps: within a few seconds the run holds ≥ 95% of it with ≤ 2% 40005, no sawtooth', () => {
  for (const quota of [8, 50, 200]) {
    const sim = simulate({ quota, ceiling: 2000, seconds: 70 });
    const achieved = sim.achieved(10, 70) / quota;
    const share = sim.limitedShare(10, 70);
    assert.ok(achieved >= 0.95 && achieved <= 1.0, `quota ${quota}: achieved ${achieved.toFixed(3)} of the quota`);
    assert.ok(share <= 0.02, `quota ${quota}: ${(share * 100).toFixed(2)}% 40005`);
    // no halve-and-climb: after the warm-up the rate never falls far below the quota
    const low = Math.min(...sim.rates.slice(Math.floor(sim.rates.length / 7)));
    assert.ok(low >= quota * 0.9, `quota ${quota}: the rate fell to ${low.toFixed(1)}`);
    assert.ok(Math.abs(sim.rate.quota! - quota) <= Math.max(1, quota * 0.03), `measured quota ${sim.rate.quota} for ${quota}`);
  }
});

test('what was learned is where the next run starts: near the quota from its first second', () => {
  const first = simulate({ quota: 40, ceiling: 1000, seconds: 30 });
  const learned = first.rate.learned()!;
  assert.ok(learned.rate >= 38 && learned.rate <= 41, JSON.stringify(learned));
  const second = simulate({ quota: 40, ceiling: 1000, seconds: 10, start: learned });
  assert.ok(second.achieved(0, 10) / 40 >= 0.95, `second run: ${second.achieved(0, 10)} /s`);
  assert.ok(second.limitedShare(0, 10) <= 0.02, `second run: ${second.limitedShare(0, 10)} limited`);
  // a learned rate above a lower --qps starts at the --qps
  assert.equal(simulate({ quota: 40, ceiling: 20, seconds: 1, start: learned }).rate.rate, 20);
});

test('a proxy that throttles 10% of requests whatever the rate does not pin the rate (the old halving took it near 1/s)', () => {
  const sim = simulate({ noise: 0.1, ceiling: 50, seconds: 120 });
  const rate = sim.achieved(20, 120) / 0.9;
  assert.ok(rate >= 35, `sending at ${rate.toFixed(1)}/s of 50`);
  assert.ok(sim.rate.rate >= 35, `the rate ended at ${sim.rate.rate}`);
  // and with a real quota beneath the noise, the quota is still found
  const both = simulate({ noise: 0.05, quota: 30, ceiling: 500, seconds: 60 });
  const got = both.achieved(10, 60);
  assert.ok(got >= 30 * 0.85 && got <= 30, `admitted ${got.toFixed(1)}/s of a quota of 30 under 5% noise`);
});

test('a spent daily quota: nothing admitted for a minute is told from a per-second limit; a sub_msg that says so at once', () => {
  const sim = simulate({ daily: true, ceiling: 50, seconds: 600 });
  assert.match(sim.rate.daily ?? '', /nothing was admitted for 6\d s/);
  // a per-second quota never looks like that, however low
  assert.equal(simulate({ quota: 2, ceiling: 500, seconds: 150 }).rate.daily, null);
  assert.equal(dailyQuotaHint('isv.app-call-limited', '应用调用频率超限'), null);
  assert.match(dailyQuotaHint('isv.app-call-limited', '应用当日调用次数已达上限') ?? '', /day's quota is spent/);
  // 00:00 Beijing is 16:00 UTC the day before
  const at = Date.UTC(2026, 10, 22, 15, 59, 59);
  assert.equal(nextQuotaReset(at), Date.UTC(2026, 10, 22, 16, 0, 0));
  assert.equal(nextQuotaReset(Date.UTC(2026, 10, 22, 16, 0, 0)), Date.UTC(2026, 10, 23, 16, 0, 0));
  assert.equal(describeReset(Date.UTC(2026, 10, 22, 16, 0, 0)), '2026-11-23 00:00 Beijing time (16:00 UTC)');
});
