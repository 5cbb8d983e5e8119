import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pacer, SPACING, backoffDelay } from '../pipeline/rate-limit.js';

/** A pacer on virtual time: sleeping advances the clock, so the test measures the schedule, not the machine. */
function virtual(qps: number, burst = 1) {
  let now = 0;
  const starts: number[] = [];
  const limiter = new Pacer({ rate: qps, burst, clock: () => now, sleep: async (ms: number) => void (now += ms) });
  return {
    limiter,
    starts,
    advance: (ms: number) => void (now += ms),
    async take(k: number) {
      for (let i = 0; i < k; i++) {
        await limiter.take();
        starts.push(now);
      }
    },
  };
}

function maxInAnyWindow(starts: number[], windowMs: number): number {
  let best = 0;
  let j = 0;
  for (let i = 0; i < starts.length; i++) {
    while (starts[i]! - starts[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

test('the ceiling is reached and never exceeded in any one-second window', async () => {
  const v = virtual(25);
  await v.take(250);
  const span = v.starts[v.starts.length - 1]! - v.starts[0]!;
  const interval = 1000 / (25 * SPACING); // 2% wider than 1/rate, for the gateway's arrival jitter
  assert.ok(Math.abs(span - 249 * interval) < 1, `250 starts at 25/s span ${span} ms`);
  assert.ok(249 / (span / 1000) >= 25 * 0.97, 'the ceiling is reached');
  assert.equal(maxInAnyWindow(v.starts, 1000), 25);
  // the same starts shifted by up to 20 ms of jitter (as at the gateway) still never exceed 25 + 1 in a second
  let seed = 7;
  const jittered = v.starts.map((t) => t + ((seed = (seed * 48271) % 2147483647) % 20)).sort((a, b) => a - b);
  assert.ok(maxInAnyWindow(jittered, 1000) <= 26);
});

test('a timer that fires late does not slow the rate: starts late by less than the slack keep the schedule', async () => {
  let now = 0;
  const starts: number[] = [];
  // every sleep overshoots by 1.5 ms, as timers do on a busy machine
  const p = new Pacer({ rate: 50, clock: () => now, sleep: async (ms: number) => void (now += ms + 1.5) });
  for (let i = 0; i < 500; i++) {
    await p.take();
    starts.push(now);
  }
  const rate = (499 * 1000) / (starts[499]! - starts[0]!);
  assert.ok(rate >= 50 * SPACING * 0.995, `${rate.toFixed(2)}/s`);
  assert.ok(maxInAnyWindow(starts, 1000) <= 50, 'still no window over the rate');
});

test('idle time earns at most `burst` back-to-back starts', async () => {
  const v = virtual(10, 3);
  await v.take(1);
  v.advance(10_000);
  await v.take(10);
  const afterIdle = v.starts.slice(1);
  assert.equal(afterIdle.filter((t) => t === afterIdle[0]).length, 3);
  assert.ok(maxInAnyWindow(v.starts.slice(1), 1000) <= 10 + 3);
});

test('a rate lowered between two starts holds at once: the next start is a whole new interval after the last', async () => {
  const v = virtual(40);
  await v.take(5);
  v.limiter.rate = 10;
  await v.take(2);
  const [a, b, c] = v.starts.slice(-3);
  // (less at most 5 ms: the slack a late timer may take from one start, see Pacer.slack)
  assert.ok(b! - a! >= 1000 / (10 * SPACING) - 5 - 1e-9, `${b! - a!} ms`);
  assert.ok(c! - b! >= 1000 / (10 * SPACING) - 5 - 1e-9);
  v.limiter.rate = 0;
  await v.take(3);
  assert.equal(v.starts.length, 10);
  assert.equal(new Set(v.starts.slice(-3)).size, 1, 'no ceiling: no wait');
});

test('backoff: full jitter within an exponentially growing, capped ceiling', () => {
  assert.equal(backoffDelay(1, 500, 30_000, () => 0.999999), 499);
  assert.equal(backoffDelay(3, 500, 30_000, () => 0.999999), 1999);
  assert.equal(backoffDelay(20, 500, 30_000, () => 0.999999), 29_999);
  assert.equal(backoffDelay(4, 500, 30_000, () => 0), 0);
});
