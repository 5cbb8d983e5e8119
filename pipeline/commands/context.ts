import type { Argv } from 'yargs';
import { EXIT } from '../errors.js';
import type { Logger } from '../log.js';
import { OPTIONS, type OptionName, type OptionUse, type Origins, type Values } from '../settings.js';

/**
 * What every command is made of: its words, its options (from the registry in settings.ts), whether its options
 * may come from the environment and a config file, its positionals and examples, and what it runs. cli.ts turns
 * this table into yargs commands; each command lives in its own file here.
 */
export interface CommandSpec {
  command: string;
  describe: string;
  uses: readonly OptionUse[];
  /** false: flags only (sandbox, demo) — exported production settings must not shape a trial gateway or the demo */
  fromEnv: boolean;
  /** positionals and examples, on top of the options */
  build?(y: Argv): Argv;
  /** absent for a group of commands (upload, agreements, notify): one of its subcommands runs */
  run?(ctx: CommandContext): Promise<number>;
  /** the commands of a group; the group alone (`alipay-sync upload`) shows its help */
  subcommands?: readonly CommandSpec[];
}

export interface CommandContext {
  values: Values;
  origins: Origins;
  /** what yargs parsed (positionals) */
  args: Record<string, unknown>;
  /** the command line as it may be recorded: secrets left out */
  command: string;
  state: CommandState;
}

/** What the commands tell main(): whether --json is in force and whether a JSON line was already printed. */
export interface CommandState {
  json: boolean;
  verbose: boolean;
  printedJson: boolean;
}

export const use = (name: OptionName, o: Omit<OptionUse, 'name'> = {}): OptionUse => ({ name, ...o });

/** stdout may be a pipe that closed early (`| head -1`): what can no longer be read is not an error. */
let stdoutClosed = false;
export function closeStdout(): void {
  stdoutClosed = true;
  wakeDrainWaiters();
}
export function writeOut(text: string): void {
  if (!stdoutClosed) process.stdout.write(text);
}
/** stdout as the library's report functions take it */
export const stdoutSink = { write: (text: string): boolean => (writeOut(text), true) };

let drainWaiters: (() => void)[] = [];
/**
 * stdout for streamed output (`rows`): write says when to wait, drain waits (and ends at once when the reader
 * has gone), closed says to stop.
 */
export const stdoutStream = {
  write: (text: string): boolean => (stdoutClosed ? true : process.stdout.write(text)),
  drain: (): Promise<void> =>
    stdoutClosed
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
        drainWaiters.push(resolve);
        process.stdout.once('drain', wakeDrainWaiters);
      }),
  closed: (): boolean => stdoutClosed,
};
function wakeDrainWaiters(): void {
  const w = drainWaiters;
  drainWaiters = [];
  for (const f of w) f();
}

/** Ctrl-C / SIGTERM: the first asks the run to settle and stop; the second quits at once (unsent rows stay pending). */
export function interruptSignal(logger: Logger, json: () => boolean): AbortSignal {
  const ac = new AbortController();
  const onSignal = () => {
    if (ac.signal.aborted) {
      logger.warn('second interrupt: quitting now; rows in flight stay pending and are sent by the next run');
      if (json()) writeOut(JSON.stringify({ status: 'interrupted', exit_code: EXIT.INTERRUPTED }) + '\n');
      process.exit(EXIT.INTERRUPTED);
    }
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac.signal;
}

/** The options of a command, as yargs options (help text, groups); values are merged and checked by settings.ts. */
export function addOptions<T>(y: Argv<T>, uses: readonly OptionUse[], fromEnv = true): Argv<T> {
  for (const u of uses) {
    const spec = OPTIONS[u.name];
    const def = u.default ?? ('default' in spec ? spec.default : undefined);
    // yargs' own tags are hidden (cli.ts: it glues them to a full line, and would call numbers strings)
    const tag = spec.type === 'list' ? 'repeatable' : spec.type;
    const describe = `${u.describe ?? spec.describe} [${tag}]` + (def !== undefined && spec.type !== 'boolean' ? ` [default: ${String(def)}]` : '');
    y.option(u.name, {
      // Numbers are read as text and checked by settings.ts, so that `--qps fast` says what is wrong and where.
      type: spec.type === 'boolean' ? 'boolean' : 'string',
      ...(spec.type === 'list' ? { array: true } : {}),
      describe,
      // the groups' titles speak of environment twins and config keys: only for commands that read them
      ...(fromEnv && 'group' in spec && spec.group ? { group: spec.group } : {}),
    });
  }
  return y;
}
