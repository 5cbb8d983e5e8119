import { readFileSync } from 'node:fs';

/**
 * Telling whether the process named by a lock still runs. A pid alone is not enough: pids are reused, and in a
 * container every run starts as the same small pid, so "pid 7 is alive" may be a later run, not the holder.
 * The pid together with the process's start time names one process for the life of the host.
 */

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The start time field (22nd, in clock ticks since boot) of a /proc/<pid>/stat line. The second field is the
 * command name in parentheses, and that name may itself hold spaces and ')' (a process can name itself
 * "a) b"): so the fields are counted from the last ')' of the line, never by splitting the whole line.
 */
export function parseProcStatStart(stat: string): string | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  // after ") " come field 3 (state), 4 (ppid), …: field 22 is the 20th of them
  const rest = stat.slice(close + 1).trim().split(/\s+/);
  const start = rest[22 - 3];
  return start !== undefined && /^\d+$/.test(start) ? start : null;
}

/** The start time of a process on this host, or null where it cannot be known (not Linux, no such pid, no /proc). */
export function procStartOf(pid: number): string | null {
  if (process.platform !== 'linux') return null;
  try {
    return parseProcStatStart(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return null;
  }
}
