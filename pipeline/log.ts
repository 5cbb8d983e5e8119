import { writeAbove, type TtyStream } from './terminal.js';

/** A small logger passed down to the library (no globals): human lines on stderr, stdout stays for results. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/**
 * Lines on `stream`; on a terminal they go above the progress line (which is erased and drawn again under them,
 * see terminal.ts) instead of being glued onto it. `quiet` drops the informational lines (warnings and errors
 * still print).
 */
export function streamLogger(stream: NodeJS.WritableStream, verbose: boolean, quiet = false): Logger {
  const write = (prefix: string, msg: string) => writeAbove(stream as TtyStream, prefix + msg + '\n');
  return {
    debug: (m) => (verbose ? write('debug: ', m) : undefined),
    info: (m) => (quiet ? undefined : write('', m)),
    warn: (m) => write('warning: ', m),
    error: (m) => write('error: ', m),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
