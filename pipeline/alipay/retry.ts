/**
 * Retrying as a small step of its own, modelled on undici's retry interceptor: which outcomes are tried again, how
 * many attempts a row gets, and how long to wait in between are data (`retryPolicy`), and the step that applies
 * them (`withRetries`) wraps any single attempt. The defaults are the README's: transient outcomes are retried with
 * exponential backoff and full jitter, up to 5 attempts per row (`--max-attempts`), from a 500 ms base, waits
 * capped at 30 s. Row and run failures are never retried; a reconcile is read back, not retried.
 */
import type { Outcome, OutcomeKind } from './classify.js';
import { backoffDelay, sleep as pause } from '../rate-limit.js';

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

export interface RetryOptions<T extends Outcome> {
  policy?: RetryPolicy;
  /** stops the waiting (not an attempt in flight): the last outcome is returned as it is */
  signal?: AbortSignal;
  /** called before each wait, e.g. to record the attempt and slow the rate down */
  onRetry?: (outcome: T, attempt: number, delayMs: number) => void | Promise<void>;
  /** injectable for tests */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/**
 * Run `attemptOnce` (given the attempt's number, 1 first) until its outcome is not to be retried, attempts run out,
 * or `signal` is aborted. Returns the last outcome and how many attempts were made.
 */
export async function withRetries<T extends Outcome>(
  attemptOnce: (attempt: number) => Promise<T>,
  options: RetryOptions<T> = {},
): Promise<{ outcome: T; attempts: number }> {
  const policy = options.policy ?? retryPolicy;
  const wait = options.sleep ?? pause;
  for (let attempt = 1; ; attempt++) {
    const outcome = await attemptOnce(attempt);
    if (!shouldRetry(outcome, attempt, policy) || options.signal?.aborted) return { outcome, attempts: attempt };
    const delayMs = retryDelay(attempt, policy, options.random);
    await options.onRetry?.(outcome, attempt, delayMs);
    await wait(delayMs, options.signal);
    if (options.signal?.aborted) return { outcome, attempts: attempt };
  }
}
