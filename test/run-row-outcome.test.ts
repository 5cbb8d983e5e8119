/** What an answer means for its row and the run (pipeline/run/row-outcome.ts), as a table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowAction, type RowAction } from '../pipeline/run/row-outcome.js';
import type { OutcomeKind } from '../pipeline/alipay/classify.js';
import { retryPolicy } from '../pipeline/alipay/retry.js';

const cases: [OutcomeKind, number, number, boolean, RowAction][] = [
  ['success', 1, 5, true, { kind: 'uploaded' }],
  ['success', 5, 5, true, { kind: 'uploaded' }],
  // a refused row keeps its body (`alipay-sync retry` sends it without the file), unless it holds personal data
  ['row-fatal', 1, 5, true, { kind: 'failed', retryable: false, keepBizContent: true, giveUp: false }],
  ['row-fatal', 1, 5, false, { kind: 'failed', retryable: false, keepBizContent: false, giveUp: false }],
  ['reconcile', 1, 5, true, { kind: 'failed', retryable: false, keepBizContent: true, giveUp: false }],
  ['run-fatal', 1, 5, true, { kind: 'pending', stopRun: true }],
  ['transient', 1, 5, true, { kind: 'retry' }],
  ['transient', 4, 5, false, { kind: 'retry' }],
  ['transient', 5, 5, true, { kind: 'failed', retryable: true, keepBizContent: true, giveUp: true }],
  // a row with personal data keeps no body once it leaves pending, even when the next run may retry it
  ['transient', 5, 5, false, { kind: 'failed', retryable: true, keepBizContent: false, giveUp: true }],
  ['transient', 1, 1, true, { kind: 'failed', retryable: true, keepBizContent: true, giveUp: true }],
];

for (const [kind, attemptsHere, maxAttempts, keepRetryableBizContent, want] of cases) {
  test(`${kind}, attempt ${attemptsHere} of ${maxAttempts}${keepRetryableBizContent ? '' : ', personal data'} → ${want.kind}`, () => {
    assert.deepEqual(rowAction({ kind, attemptsHere, policy: { ...retryPolicy, maxAttempts }, keepRetryableBizContent }), want);
  });
}
