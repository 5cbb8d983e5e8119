#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT, errorFields, exitCodeFor, SyncError } from './errors.js';
import { streamLogger } from './log.js';
import { mergeSettings, normalizeArgv, parseBoolean, redactArgv, scrub, envName } from './settings.js';
import { addOptions, closeStdout, writeOut, type CommandSpec, type CommandState } from './commands/context.js';
import { agreementsCommand, uploadCommand } from './commands/upload.js';
import { checkCommand } from './commands/check.js';
import { retryCommand } from './commands/retry.js';
import { rowsCommand } from './commands/rows.js';
import { demoCommand, notifyCommand, sandboxCommand, statusCommand } from './commands/serve.js';
import { workCommand } from './commands/work.js';
import { reportCommand } from './commands/report.js';
import { setHelpWidth } from './commands/help.js';
import { explainFailure } from './commands/usage-errors.js';
import { VERSION } from './version.js';
// Each command imports what it needs when it runs (the HTTP client, the ledger, the sandbox): `--help` and
// `status` start in a fraction of the time, and a migration's CPU is spent on the migration.

/**
 * The command line: a thin table over the commands in commands/. yargs parses the command line only; settings.ts
 * merges it with the environment and the --config file per command. This is the only module that reads
 * process.env or decides how the process ends: every exit code comes from errors.ts (EXIT, exitCodeFor).
 */
const COMMANDS: readonly CommandSpec[] = [
  uploadCommand, agreementsCommand, workCommand, retryCommand, rowsCommand, checkCommand, notifyCommand, statusCommand, reportCommand, sandboxCommand, demoCommand,
];

/**
 * A bare `alipay-sync` asks what there is: its help, exit 0. A bare group (`alipay-sync upload`: a cron line that
 * lost its subcommand) gets its help too, but did nothing it was asked to: exit 2 (`bare` names it). The
 * completion script's own call (`--get-yargs-completions`) is left alone.
 */
function helpWhenBare(argv: string[]): { argv: string[]; bare?: CommandSpec } {
  if (argv.length === 0) return { argv: ['--help'] };
  const group = COMMANDS.find((c) => c.subcommands && c.command === argv[0]);
  return group && argv.length === 1 ? { argv: [argv[0]!, '--help'], bare: group } : { argv };
}

/** A first guess at --json and --verbose, for errors raised before the settings are merged. */
function guessFlag(argv: readonly string[], env: NodeJS.ProcessEnv, name: string): boolean {
  for (let i = argv.length - 1; i >= 0; i--) {
    if (argv[i] === `--${name}`) return true;
    if (argv[i] === `--no-${name}`) return false;
  }
  try {
    const e = env[envName(name)];
    return e !== undefined && e !== '' && parseBoolean(e, envName(name));
  } catch {
    return false;
  }
}

export async function main(rawArgv: string[] = hideBin(process.argv), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const state: CommandState = { json: guessFlag(rawArgv, env, 'json'), verbose: guessFlag(rawArgv, env, 'verbose'), printedJson: false };
  let exit = 0;
  try {
    const { argv, bare } = helpWhenBare(normalizeArgv(rawArgv));
    state.json = guessFlag(argv, env, 'json');
    state.verbose = guessFlag(argv, env, 'verbose');
    const command = redactArgv(argv).join(' ');
    const set = (p: Promise<number>) => p.then((code) => void (exit = code));
    /** Merge a command's settings, print their warnings, and note --json/--verbose for the way out. */
    const settle = (uses: CommandSpec['uses'], a: Record<string, unknown>, fromEnv: boolean) => {
      const merged = mergeSettings(uses, a, fromEnv ? env : {});
      const logger = streamLogger(process.stderr, false);
      for (const w of merged.warnings) logger.warn(w);
      state.json = merged.values.json === true;
      state.verbose = merged.values.verbose === true;
      return merged;
    };
    // Help fits the terminal; in a pipe (`--help | less`) $COLUMNS says how wide, as for other tools.
    const width = setHelpWidth(process.stdout.isTTY ? process.stdout.columns : env.COLUMNS ? Number(env.COLUMNS) : undefined);
    const parser = yargs(argv)
      .scriptName('alipay-sync')
      .usage('$0 <command> [options]\n\nKeep Alipay in step with your CSV exports: validate every row, sign and send under a rate limit, and keep a SQLite ledger so any run can be stopped and rerun to finish, without re-sending rows.');
    /** A command (or a group, with its subcommands) as a yargs command. */
    const register = (y: Argv, spec: CommandSpec): Argv =>
      y.command(
        spec.command,
        spec.describe,
        (sub) => {
          const built = spec.build ? spec.build(addOptions(sub, spec.uses, spec.fromEnv)) : addOptions(sub, spec.uses, spec.fromEnv);
          if (!spec.subcommands) return built;
          for (const s of spec.subcommands) register(built, s);
          return built.demandCommand(1, `name one: ${spec.subcommands.map((s) => s.command.split(' ')[0]).join(', ')} (see ${spec.command} --help)`);
        },
        spec.run
          ? (a) => {
            const m = settle(spec.uses, a, spec.fromEnv);
            return set(spec.run!({ values: m.values, origins: m.origins, args: a, command, state }));
          }
          : undefined,
      );
    for (const spec of COMMANDS) register(parser, spec);
    // yargs glues its type tags to a description that fills the line ("…out[boolean]"): the descriptions say the
    // type and default themselves (commands/context.ts). (yargs 18 has this setting; its @types, of 17, do not.)
    (parser as Argv & { usageConfiguration(c: { 'hide-types': boolean }): Argv }).usageConfiguration({ 'hide-types': true });
    parser
      .demandCommand(1, `name a command: ${COMMANDS.map((c) => c.command.split(' ')[0]).join(', ')} (see --help)`)
      .strict()
      .recommendCommands()
      .epilog(
        'Settings: a flag, else its ALIPAY_SYNC_<NAME> environment variable, else the --config file, else the default; each applies only to the commands that have it. A flag given twice takes its last value (--fault keeps every one). Booleans take true/false, 1/0, yes/no, on/off.\n\n' +
          'Exit codes: 0 every row uploaded or already unchanged in Alipay · 1 finished, but rows were rejected or failed (or a file was empty) · 2 usage, configuration or I/O problem (or a bare upload, agreements, notify), nothing sent · 3 aborted by the gateway (credentials, signature, an unverifiable answer), pending rows left for the next run · 4 the daily quota is spent: rows left pending, the summary says when it resets (00:00 Beijing) and how to go on (--wait-for-quota waits instead) · 70 internal error (a bug: please report it) · 130 interrupted after settling requests in flight.\n\n' +
          'Docs: README.md. Try it with no account: npm start, or alipay-sync sandbox.',
      )
      .wrap(width)
      .fail((msg, err) => {
        throw err ?? new SyncError('SYNC_CONFIG_INVALID', `${scrub(explainFailure(msg, argv, COMMANDS))}\nrun alipay-sync --help for usage`);
      })
      .completion('completion', 'print a shell completion script (bash, zsh): alipay-sync completion >> ~/.bashrc')
      .help()
      // a bare group's help is followed by its exit 2 (below), so yargs must not end the process after it
      .exitProcess(!bare)
      .alias('h', 'help')
      .version(VERSION);
    await parser.parseAsync();
    if (bare) {
      const names = bare.subcommands!.map((c) => c.command.split(' ')[0]).join(', ');
      throw new SyncError('SYNC_CONFIG_INVALID', `alipay-sync ${bare.command} needs one of: ${names} (its help is above; nothing was done)`);
    }
    return exit;
  } catch (err) {
    return report(err, state);
  }
}

/** The one way out for an error: a line on stderr, and with --json a JSON object as the last line of stdout. */
function report(err: unknown, state: CommandState): number {
  const code = exitCodeFor(err);
  const e = err as Error & { code?: string };
  const message = scrub(e?.message ?? String(err));
  if (code === EXIT.INTERNAL) {
    process.stderr.write(`error: internal error: ${message}\nThis is a bug in alipay-sync: please report it${state.verbose ? '' : ' (run again with --verbose to see where it happened)'}.\n`);
    if (state.verbose && e?.stack) process.stderr.write(`${e.stack}\n`);
  } else {
    process.stderr.write(`error: ${message}${e.code ? ` [${e.code}]` : ''}\n`);
  }
  if (state.json && !state.printedJson) {
    const fields = { ...errorFields(err), message };
    if (code === EXIT.INTERNAL) fields.code = 'SYNC_INTERNAL';
    writeOut(JSON.stringify({ status: 'error', exit_code: code, error: fields, version: VERSION }) + '\n');
  }
  return code;
}

for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (stream === process.stdout) closeStdout();
    // A reader that went away (`alipay-sync status | head -1`) is not a crash: stop writing, finish quietly.
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    // Anything else (a full disk under `>> run.log`) lost the summary a cron job relies on: not a success.
    if (stream === process.stdout) {
      process.stderr.write(`error: cannot write to standard output: ${err.code ?? err.message} [SYNC_OUTPUT]\n`);
      if (!process.exitCode || process.exitCode === EXIT.ROWS) process.exitCode = EXIT.USAGE;
    }
  });
}

main().then(
  (code) => {
    // an output error already raised to 2 stays so
    if (process.exitCode !== EXIT.USAGE || code > EXIT.USAGE) process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err, { json: false, verbose: false, printedJson: false });
  },
);
