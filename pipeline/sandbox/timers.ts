/**
 * The gateway's timers: slow and trickled answers, notification delays and resends. stop() cancels them all, so
 * nothing fires once the gateway has stopped.
 */
export class Timers {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** resolvers of sleeps, settled by cancelAll() so that nothing waits on a cancelled timer */
  private readonly cancels = new Set<() => void>();

  /** Run `fn` after `ms`, unless cancelAll() comes first. */
  after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** A timer that cancelAll() cancels (the promise then settles at once). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.cancels.delete(resolve);
        resolve();
      }, ms);
      this.timers.add(t);
      this.cancels.add(resolve);
    });
  }

  cancelAll(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.cancels) c();
    this.cancels.clear();
  }
}
