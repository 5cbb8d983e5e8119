import type { ChildProcess } from 'node:child_process';

/**
 * Wait until `cond` holds, checking every 10 ms — but never without a bound: it fails after `ms`, and at once
 * when the child process it waits on has already ended (a CLI that exits early fails the test in seconds
 * instead of hanging the runner).
 */
export async function waitUntil(cond: () => boolean, o: { ms: number; what: string; child?: ChildProcess }): Promise<void> {
  const end = Date.now() + o.ms;
  while (!cond()) {
    if (o.child && o.child.exitCode !== null) throw new Error(`the CLI ended (exit ${o.child.exitCode}) while waiting for ${o.what}`);
    if (o.child && o.child.signalCode !== null) throw new Error(`the CLI ended (${o.child.signalCode}) while waiting for ${o.what}`);
    if (Date.now() > end) throw new Error(`timed out after ${o.ms} ms waiting for ${o.what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
