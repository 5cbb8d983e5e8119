import { readFileSync } from 'node:fs';
import { SyncError } from './errors.js';
import { jsonErrorOffset } from './json-position.js';
import { OPTIONS, type OptionName, type OptionSpec } from './options.js';

export { OPTIONS, RUN, SENDING, type OptionName, type OptionSpec, type OptionType } from './options.js';

const SPECS: Readonly<Record<string, OptionSpec>> = OPTIONS;

/**
 * Every option of every command, as data: its type, its help, and so where it may come from. A setting is taken
 * from the command line, else from its environment twin (ALIPAY_SYNC_<NAME>), else from the --config JSON file,
 * else from its default; env twins and config keys apply only to the commands that have the option, so a cron
 * job's exported upload settings (or one config file shared by every command) never break `status` or `sandbox`.
 * yargs only parses the command line; merging, type checks and error messages that name the source live here,
 * because yargs' own env/config handling leaks options across commands and reads `1` as a file name.
 */
/** Per-command differences from the registry (a default, a description). */
export interface OptionUse {
  name: OptionName;
  default?: string | number | boolean;
  describe?: string;
}

export type Values = Record<string, string | number | boolean | string[] | undefined>;

/** Where each setting came from, for error messages: `--qps`, `ALIPAY_SYNC_QPS`, `config file c.json, key "qps"`. */
export type Origins = Record<string, string>;

export const ENV_PREFIX = 'ALIPAY_SYNC_';

export function envName(option: string): string {
  return ENV_PREFIX + option.toUpperCase().replace(/-/g, '_');
}

/** camelCase and snake_case spellings of an option name, as yargs and config files accept them, to kebab-case. */
export function canonicalName(name: string): string {
  return name.replace(/_/g, '-').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

function usage(message: string): never {
  throw new SyncError('SYNC_CONFIG_INVALID', message);
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** true/false/1/0/yes/no/on/off in any case; anything else is a usage error that names where it came from. */
export function parseBoolean(value: unknown, origin: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' && (value === 0 || value === 1)) return value === 1;
  const text = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  return usage(`${origin}: expected true or false (also 1/0, yes/no, on/off), got ${describeValue(value)}`);
}

/** A value shown in an error, never a long one (it may be a key pasted in the wrong place). */
function describeValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  if (text.length > 24 || /[A-Za-z0-9+/=]{24,}/.test(text)) return `a value of ${text.length} characters`;
  return JSON.stringify(text);
}

function parseNumber(value: unknown, origin: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  const text = typeof value === 'string' ? value.trim() : '';
  // Plain decimal only: Number() would also take 0x10, 1e3 and ' ', which nobody means for a rate.
  const n = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n)) usage(`${origin}: expected a number, got ${describeValue(value)}`);
  return n;
}

function convert(spec: OptionSpec, value: unknown, origin: string): string | number | boolean | string[] {
  switch (spec.type) {
    case 'boolean':
      return parseBoolean(value, origin);
    case 'number':
      return parseNumber(value, origin);
    case 'list':
      if (Array.isArray(value)) return value.map((v) => String(v));
      if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
      return usage(`${origin}: expected a list of text values`);
    default:
      if (typeof value === 'string') return value;
      if (typeof value === 'number') return String(value);
      return usage(`${origin}: expected text, got ${describeValue(value)}`);
  }
}

/**
 * Rewrites the command line before yargs sees it, so that what a user types means what it says:
 * - every spelling of a known option (`--dryRun`, `--dry_run`) becomes its kebab-case name, so redaction and
 *   checks see one name;
 * - `--flag=VALUE` of a boolean takes the boolean spellings above (`--dry-run=1` is a dry run; `=maybe` is an
 *   error), where yargs would read `--dry-run=1` as false and send for real;
 * - the value of a secret option is always the next word, even when it starts with `-` (a one-line PEM's
 *   `-----BEGIN`), where yargs would take it for a flag and echo it in "Unknown arguments".
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    // yargs drops a bare `-` silently (a run of no file at all): standard input is not a file we can re-read.
    if (arg === '-') usage('reading from standard input (-) is not supported: save the export to a file and name that file');
    if (!arg.startsWith('--') || arg.length < 3) {
      out.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const rawName = arg.slice(2, eq === -1 ? undefined : eq);
    let name = canonicalName(rawName);
    let negated = false;
    if (!(name in SPECS) && name.startsWith('no-') && SPECS[name.slice(3)]?.type === 'boolean') {
      name = name.slice(3);
      negated = true;
    }
    const spec = SPECS[name];
    if (!spec) {
      out.push(arg);
      continue;
    }
    if (spec.type === 'boolean') {
      const next = argv[i + 1]?.trim().toLowerCase();
      if (eq === -1 && next !== undefined && (TRUE.has(next) || FALSE.has(next))) {
        // yargs would take `true`/`false` as the flag's value but `yes`/`1` as a file name: say how to write it.
        usage(`--${negated ? 'no-' : ''}${name} ${argv[i + 1]}: write --${name}=${argv[i + 1]} (a separate word after a switch is read as a file name)`);
      }
      if (eq === -1) out.push(negated ? `--no-${name}` : `--${name}`);
      else {
        const v = parseBoolean(arg.slice(eq + 1), `--${negated ? 'no-' : ''}${name}=${arg.slice(eq + 1).length > 24 ? '…' : arg.slice(eq + 1)}`);
        out.push(v !== negated ? `--${name}` : `--no-${name}`);
      }
      continue;
    }
    if (eq !== -1) out.push(`--${name}=${arg.slice(eq + 1)}`);
    else if (spec.secret && i + 1 < argv.length) out.push(`--${name}=${argv[++i]!}`);
    else out.push(`--${name}`);
  }
  return out;
}

const SECRET_NAMES = new Set(Object.entries(SPECS).filter(([, s]) => s.secret).map(([n]) => n));

/**
 * The command line as it may be shown or recorded: the value of every secret option is left out, whatever the
 * spelling (`--privateKey X`, `--private_key=X`). Also applied to command lines read back from older ledgers.
 */
/** A password in a PostgreSQL URL (`postgres://user:secret@host/db`, or `?password=`): never recorded or shown. */
export function redactUrlPassword(text: string): string {
  return text
    .replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1…@')
    .replace(/(postgres(?:ql)?:\/\/\S*[?&]password=)[^&\s]*/gi, '$1…');
}

export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = redactUrlPassword(argv[i]!);
    if (!arg.startsWith('--')) {
      out.push(looksLikeKeyMaterial(arg) ? '…' : arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = canonicalName(arg.slice(2, eq === -1 ? undefined : eq));
    if (SECRET_NAMES.has(name)) {
      out.push(`--${name}=…`);
      if (eq === -1 && i + 1 < argv.length) i++;
    } else out.push(looksLikeKeyMaterial(arg) ? `${arg.slice(0, Math.max(2, eq + 1))}…` : arg);
  }
  return out;
}

export function redactCommandText(text: string): string {
  return redactArgv(text.split(' ')).join(' ');
}

/** A long run of base64 (a key body) or a PEM armour line: never echoed. */
export function looksLikeKeyMaterial(text: string): boolean {
  return /-----BEGIN|[A-Za-z0-9+/]{40,}/.test(text);
}

/** Error text from the parser with anything that looks like key material cut out. */
export function scrub(text: string): string {
  return text.replace(/-{3,}[A-Z ]*-*/g, '…').replace(/[A-Za-z0-9+/=]{40,}/g, '…');
}

/** The --config file: a JSON object of settings. Missing or broken is a usage error naming the file and place. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return usage(`--config ${path}: cannot read it (${e.code === 'ENOENT' ? 'no such file' : e.code ?? e.message})`);
  }
  let parsed: unknown;
  const body = text.replace(/^\uFEFF/, '');
  try {
    parsed = JSON.parse(body);
  } catch {
    // Node 20's message quotes the text around the error (which may hold a key): say where, not what.
    const at = jsonErrorOffset(body);
    const before = body.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    return usage(`--config ${path}: not valid JSON at line ${line}, column ${column}${at >= body.length ? ' (it ends too early)' : ''}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return usage(`--config ${path}: expected a JSON object of settings, like {"app-id": "2021…", "qps": 20}`);
  }
  return parsed as Record<string, unknown>;
}

export interface Merged {
  values: Values;
  origins: Origins;
  warnings: string[];
}

/**
 * The settings of one command: command line, then environment, then config file, then defaults; each converted
 * to its type with errors that name the source. `given` holds what yargs parsed from the command line.
 */
export function mergeSettings(
  uses: readonly OptionUse[],
  given: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): Merged {
  const values: Values = {};
  const origins: Origins = {};
  const warnings: string[] = [];
  // Unknown ALIPAY_SYNC_* variables: a typo'd name would otherwise be silently ignored.
  for (const key of Object.keys(env)) {
    if (!key.toUpperCase().startsWith(ENV_PREFIX)) continue;
    const name = key.slice(ENV_PREFIX.length).toLowerCase().replace(/_/g, '-');
    if (!(name in SPECS)) warnings.push(`ignoring environment variable ${key}: alipay-sync has no option --${name}`);
    // Names are case-sensitive: a lower-case ALIPAY_SYNC_dry_run would be silently ignored, and a dry run meant
    // would send for real. A known option in the wrong case is refused.
    else if (key !== envName(name) && uses.some((u) => u.name === name)) usage(`environment variable ${key}: names are upper case: write ${envName(name)}`);
    else if (env[key] === '' && uses.some((u) => u.name === name)) warnings.push(`ignoring environment variable ${key}: it is set but empty`);
  }
  const configOrigin = typeof given.config === 'string' ? given.config : env[envName('config')];
  let config: Record<string, unknown> = {};
  if (uses.some((u) => u.name === 'config') && configOrigin) {
    config = {};
    for (const [k, v] of Object.entries(readConfigFile(configOrigin))) {
      const name = canonicalName(k);
      if (!(name in SPECS)) warnings.push(`--config ${configOrigin}: ignoring key "${k}": alipay-sync has no option --${name}`);
      else config[name] = v;
    }
  }
  for (const use of uses) {
    const spec = SPECS[use.name]!;
    const name = use.name;
    let raw: unknown = given[name];
    let origin = `--${name}`;
    // A scalar given twice takes its last value (documented); lists keep every value.
    if (Array.isArray(raw) && spec.type !== 'list') raw = raw[raw.length - 1];
    if (raw === undefined || raw === null) {
      const fromEnv = env[envName(name)];
      if (fromEnv !== undefined && fromEnv !== '') {
        raw = fromEnv;
        origin = `${envName(name)} (environment)`;
      } else if (Object.hasOwn(config, name)) {
        raw = config[name];
        origin = `--config ${configOrigin}, key "${name}"`;
      } else {
        const d = use.default ?? spec.default;
        if (d !== undefined) values[name] = d;
        origins[name] = 'default';
        continue;
      }
    }
    values[name] = convert(spec, raw, origin);
    origins[name] = origin;
  }
  return { values, origins, warnings };
}

/** `--qps` named as the user gave it: the flag, the environment variable or the config key. */
export function originOf(origins: Origins, name: string): string {
  const o = origins[name];
  return o && o !== 'default' ? o : `--${name}`;
}
