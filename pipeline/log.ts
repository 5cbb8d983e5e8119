/** A small logger passed down to the library (no globals): human lines on stderr, stdout stays for results. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function streamLogger(stream: NodeJS.WritableStream, verbose: boolean, quiet = false): Logger {
  const write = (prefix: string, msg: string) => stream.write(prefix + msg + '\n');
  return {
    debug: (m) => (verbose ? write('debug: ', m) : undefined),
    info: (m) => (quiet ? undefined : write('', m)),
    warn: (m) => write('warning: ', m),
    error: (m) => write('error: ', m),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
