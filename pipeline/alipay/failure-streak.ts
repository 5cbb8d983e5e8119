import type { Outcome } from './classify.js';

/**
 * Notices when rows keep failing for the same reason: N row-fatal outcomes in a row with one sub_code (or code,
 * when there is none) are more likely our configuration than N bad rows (e.g. every row meeting
 * `isv.invalid-parameter` because a field is mapped wrong). `note` returns a reason to stop the run once the
 * streak reaches `limit`, and keeps returning it while the streak goes on; any other outcome resets it.
 */
export class FailureStreak {
  private key: string | null = null;
  private count = 0;

  constructor(readonly limit = 20) {}

  note(outcome: Pick<Outcome, 'kind' | 'code' | 'subCode' | 'reason'> & Partial<Outcome>): string | null {
    if (outcome.kind !== 'row-fatal') {
      this.key = null;
      this.count = 0;
      return null;
    }
    const key = outcome.subCode || outcome.code;
    if (key !== this.key) {
      this.key = key;
      this.count = 0;
    }
    this.count++;
    if (this.count < this.limit) return null;
    return `${this.count} rows in a row failed with ${key}: probably configuration, not the rows (last: ${outcome.reason})`;
  }
}
