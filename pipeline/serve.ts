import { SyncError } from './errors.js';

/** What the long-running commands (sandbox, notify serve) share: how they stop, and how a port that cannot be bound is told. */

/** Resolves at the first SIGINT or SIGTERM; the listeners are in place when it returns. */
export function untilStopped(): Promise<void> {
  return new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
}

/** A port that cannot be bound is a usage problem (exit 2), said plainly, naming the flag that sets it. */
export function listenError(err: unknown, what: string, host: string, port: number, flag = '--port'): SyncError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'EADDRINUSE' ? `the port is in use (${flag === '--port' ? 'another sandbox or receiver? ' : 'another run\'s metrics? '}${flag} 0 picks a free one)`
    : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : code ?? (err as Error).message;
  return new SyncError('SYNC_CONFIG_INVALID', `${what}: cannot listen on ${host}:${port}: ${why}`);
}

/** --metrics-port: a port number, 0 for any free one; undefined when not given. */
export function checkMetricsPort(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new SyncError('SYNC_CONFIG_INVALID', `--metrics-port must be a port number 0-65535 (0: any free port) (got ${String(value)})`);
  }
  return value;
}
