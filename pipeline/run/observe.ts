import type { OutcomeKind } from '../alipay/classify.js';

/**
 * What a run tells those who watch it while it sends: the timing recorder (the run report reads what it keeps
 * in the ledger) and the metrics endpoint. Called on the send loop's thread, so each call must be cheap and
 * must not throw.
 */
export interface Answered {
  /** unix ms when the request started */
  startedAt: number;
  durationMs: number;
  kind: OutcomeKind;
  code: string;
  subCode?: string | undefined;
  /** 40005 or HTTP 429 */
  slowDown: boolean;
  /** the key as the ledger holds it (personal keys are keyed hashes) */
  key: string;
  attempt: number;
}

export type RowOutcome = 'uploaded' | 'failed' | 'pending';

/** What is live during sending, read when someone asks (a metrics scrape), not pushed on every change. */
export interface LiveState {
  /** the rate the limiter allows now (Infinity: no ceiling) */
  rate(): number;
  inFlight(): number;
}

/** Counts of what staging did, once it is done. */
export interface StagedCounts {
  read: number;
  rejected: number;
  /** identical to what Alipay holds */
  unchanged: number;
}

export interface RunObserver {
  staged?(counts: StagedCounts): void;
  /** sending starts; `live` may be read at any time until close() */
  sending?(live: LiveState, pending: number): void;
  requestStarted?(): void;
  answered?(a: Answered): void;
  /** a row's outcome in this run; a failure carries its reason (already masked) */
  rowDone?(outcome: RowOutcome, detail: { key: string; attempt: number; code?: string | undefined; subCode?: string | undefined; reason?: string | undefined }): void;
  /** the run is over: write or serve what is left */
  close?(): void | Promise<void>;
}

/** Several observers as one: each call goes to every one of them. */
export function observeAll(list: readonly RunObserver[]): Required<RunObserver> {
  return {
    staged: (c) => list.forEach((o) => o.staged?.(c)),
    sending: (l, p) => list.forEach((o) => o.sending?.(l, p)),
    requestStarted: () => list.forEach((o) => o.requestStarted?.()),
    answered: (a) => list.forEach((o) => o.answered?.(a)),
    rowDone: (out, d) => list.forEach((o) => o.rowDone?.(out, d)),
    close: async () => {
      for (const o of list) await o.close?.();
    },
  };
}
