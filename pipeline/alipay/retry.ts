/**
 * Retrying as a small step of its own, modelled on undici's retry interceptor: which outcomes are tried again, how
 * many attempts a row gets, and how long to wait in between are data (`retryPolicy`), and the run applies them
 * one attempt at a time (pipeline/run/row-outcome.ts decides, pipeline/run/send.ts waits). The defaults are the README's: transient outcomes are retried with
 * exponential backoff and full jitter, up to 5 attempts per row (`--max-attempts`), from a 500 ms base, waits
 * capped at 30 s. Row and run failures are never retried; a reconcile is read back, not retried.
 */
import type { Outcome, OutcomeKind } from './classify.js';
import { backoffDelay } from '../rate-limit.js';

export interface RetryPolicy {
  /** outcome kinds that are tried again (undici: statusCodes / errorCodes) */
  retryOn: readonly OutcomeKind[];
  /** attempts in all, the first included (undici: maxRetries + 1) */
  maxAttempts: number;
  /** the backoff's base: attempt n waits a uniform [0, min(cap, base·2^(n-1))) (undici: minTimeout, timeoutFactor 2) */
  backoffBaseMs: number;
  /** the longest wait (undici: maxTimeout) */
  backoffCapMs: number;
}

export const retryPolicy: RetryPolicy = Object.freeze({
  retryOn: Object.freeze(['transient'] as const),
  maxAttempts: 5,
  backoffBaseMs: 500,
  backoffCapMs: 30_000,
});

/** After `attempt` attempts (1 = the first) ended in `outcome`: try once more? */
export function shouldRetry(outcome: Pick<Outcome, 'kind'>, attempt: number, policy: RetryPolicy = retryPolicy): boolean {
  return policy.retryOn.includes(outcome.kind) && attempt < policy.maxAttempts;
}

/** How long to wait after attempt `attempt` (1 = the first) before the next: full jitter (pipeline/rate-limit.ts). */
export function retryDelay(attempt: number, policy: RetryPolicy = retryPolicy, random: () => number = Math.random): number {
  return backoffDelay(attempt, policy.backoffBaseMs, policy.backoffCapMs, random);
}
