import type { OutcomeKind } from '../alipay/classify.js';
import { shouldRetry, type RetryPolicy } from '../alipay/retry.js';

/**
 * What one answer means for its row and for the run: the whole decision, as a pure function of the outcome's
 * kind and the row's attempts, so it can be read (and tested) as a table. send.ts carries it out.
 *
 * | outcome                     | the row                                    | the run                          |
 * | success                     | uploaded                                   | streak of alike failures reset   |
 * | row-fatal                   | failed, not retried ("still refused" while | counts towards a streak          |
 * |                             | unchanged); body kept unless personal       |                                  |
 * | run-fatal                   | stays pending (outcome unknown)            | stops (exit 3)                   |
 * | transient, attempts left    | retried after a backoff                    | —                                |
 * | transient, none left        | failed, retryable by the next run          | counts towards "unreachable"     |
 * | reconcile (not read back)   | failed, not retried                        | counts towards a streak          |
 */
export type RowAction =
  | { kind: 'uploaded' }
  | { kind: 'failed'; retryable: boolean; keepBizContent: boolean; giveUp: boolean }
  | { kind: 'pending'; stopRun: true }
  | { kind: 'retry' };

export function rowAction(o: { kind: OutcomeKind; attemptsHere: number; policy: RetryPolicy; keepRetryableBizContent: boolean }): RowAction {
  switch (o.kind) {
    case 'success':
      return { kind: 'uploaded' };
    // a reconcile that could not be read back is as good as a refusal: its state is unknown, its content was refused
    // its body is kept (unless it holds personal data) so that `alipay-sync retry` can send it without the file
    case 'reconcile':
    case 'row-fatal':
      return { kind: 'failed', retryable: false, keepBizContent: o.keepRetryableBizContent, giveUp: false };
    case 'run-fatal':
      return { kind: 'pending', stopRun: true };
    case 'transient':
      if (shouldRetry({ kind: o.kind }, o.attemptsHere, o.policy)) return { kind: 'retry' };
      // Only the gateway's trouble: the next run tries it again (with its body, unless it holds personal data).
      return { kind: 'failed', retryable: true, keepBizContent: o.keepRetryableBizContent, giveUp: true };
  }
}
