/** The messages between BackgroundStager (stage-worker.ts) and the staging thread (stage-thread.ts). */
import type { RejectRecord, RetryRefused, SendPolicy } from '../port.js';

export interface StageThreadInit {
  ledgerPath: string;
  /** Ledger.hashSecret of the run's connection: the thread's connection hashes with it (it has no key to unwrap one) */
  hashSecret: Uint8Array;
  /** 0 for a dry run: it has no run row, and what it stages is rolled back */
  runId: number;
  dataset: string;
  policy: SendPolicy;
  /** `--retry-failed`: rows Alipay refused, unchanged, are staged again (all, or those of one sub_code) */
  retry?: RetryRefused | null;
  dryRun: boolean;
}

/**
 * One batch, columnar: arrays of strings clone between threads faster than arrays of row objects. (Joining
 * them into one string, or encoding them into one transferred buffer, measured no cheaper: the copy moves.)
 */
export interface StageBatchMessage {
  type: 'batch';
  file: string;
  /** each row's merchant ('' for none); absent when no row of the batch has one */
  merchants?: string[];
  keys: string[];
  snapshots: string[];
  bizContents: string[];
  lines: number[];
  rejects: RejectRecord[];
  /** StageRow.formerKey of each row ('' for none), for datasets whose keys an older version stored otherwise */
  formerKeys?: string[];
}

export type StageThreadReply =
  | { type: 'ready' }
  | { type: 'staged'; unchanged: number; refused: number }
  | { type: 'done'; plan: { new: number; changed: number; carried?: number } | null }
  | { type: 'error'; message: string };

