/** The retry step as data: which outcomes retry, how many attempts, how long to wait (pipeline/alipay/retry.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Outcome, OutcomeKind } from '../pipeline/alipay/classify.js';
import { retryDelay, retryPolicy, shouldRetry } from '../pipeline/alipay/retry.js';

const outcome = (kind: OutcomeKind): Outcome => ({ kind, code: kind === 'transient' ? '20000' : '40004', reason: kind, verified: kind === 'success' });

test('the defaults are the README\'s: transient only, 5 attempts, 500 ms base, 30 s cap', () => {
  assert.deepEqual({ ...retryPolicy, retryOn: [...retryPolicy.retryOn] }, { retryOn: ['transient'], maxAttempts: 5, backoffBaseMs: 500, backoffCapMs: 30_000 });
  assert.ok(Object.isFrozen(retryPolicy));
});

test('shouldRetry: only transient outcomes, and only while attempts remain', () => {
  for (const kind of ['success', 'row-fatal', 'run-fatal', 'reconcile'] as const) assert.equal(shouldRetry(outcome(kind), 1), false, kind);
  assert.equal(shouldRetry(outcome('transient'), 1), true);
  assert.equal(shouldRetry(outcome('transient'), 4), true);
  assert.equal(shouldRetry(outcome('transient'), 5), false, 'the fifth attempt is the last');
  assert.equal(shouldRetry(outcome('transient'), 1, { ...retryPolicy, maxAttempts: 1 }), false);
  assert.equal(shouldRetry(outcome('row-fatal'), 1, { ...retryPolicy, retryOn: ['row-fatal'] }), true);
});

test('retryDelay: full jitter under base·2^(n-1), capped', () => {
  assert.equal(retryDelay(1, retryPolicy, () => 0.999999), 499);
  assert.equal(retryDelay(3, retryPolicy, () => 0.5), 1000);
  assert.equal(retryDelay(20, retryPolicy, () => 0.999999), 29_999);
  assert.equal(retryDelay(4, retryPolicy, () => 0), 0);
});
