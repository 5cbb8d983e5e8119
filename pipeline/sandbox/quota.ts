/** The app's call quota: requests per second (a sliding one-second window); beyond it Alipay answers 40005. */
export class CallQuota {
  /** arrival times of the requests admitted under the quota, oldest first */
  private admitted: number[] = [];

  constructor(private readonly perSecond: number) {}

  /** Whether a request arriving at `at` is admitted; an admitted one counts against the quota from then on. */
  admit(at: number): boolean {
    while (this.admitted.length && at - this.admitted[0]! >= 1000) this.admitted.shift();
    if (this.admitted.length >= this.perSecond) return false;
    this.admitted.push(at);
    return true;
  }
}
