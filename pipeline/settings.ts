import { readFileSync } from 'node:fs';
import { SyncError } from './errors.js';

/**
 * Every option of every command, as data: its type, its help, and so where it may come from. A setting is taken
 * from the command line, else from its environment twin (ALIPAY_SYNC_<NAME>), else from the --config JSON file,
 * else from its default; env twins and config keys apply only to the commands that have the option, so a cron
 * job's exported upload settings (or one config file shared by every command) never break `status` or `sandbox`.
 * yargs only parses the command line; merging, type checks and error messages that name the source live here,
 * because yargs' own env/config handling leaks options across commands and reads `1` as a file name.
 */
export type OptionType = 'string' | 'number' | 'boolean' | 'list';

export interface OptionSpec {
  type: OptionType;
  describe: string;
  group?: string;
  /** shown in --help and used when no source gives a value */
  default?: string | number | boolean;
  /** a value that must never be printed or recorded (keys, tokens); also always read as this option's value */
  secret?: boolean;
}

export const SENDING = 'Sending (each also as ALIPAY_SYNC_<NAME>, e.g. ALIPAY_SYNC_APP_ID, or a --config key):';
export const RUN = 'Run:';

export const OPTIONS = {
  gateway: { type: 'string', group: SENDING, describe: 'gateway URL, or "production" / "sandbox" (Alipay\'s own)', default: 'production' },
  'app-id': { type: 'string', group: SENDING, describe: 'your Alipay app id' },
  'private-key': { type: 'string', group: SENDING, secret: true, describe: 'app private key file (PEM, or the one-line body from Alipay\'s key tool); prefer a file or the env twin: a key given as a value is visible in `ps`' },
  'alipay-public-key': { type: 'string', group: SENDING, secret: true, describe: 'Alipay public key file (not your app public key), to verify every answer' },
  'sign-type': { type: 'string', group: SENDING, describe: 'RSA2 (SHA256withRSA) or legacy RSA', default: 'RSA2' },
  'app-auth-token': { type: 'string', group: SENDING, secret: true, describe: 'app_auth_token, when calling on behalf of a merchant (ISV mode); prefer ALIPAY_SYNC_APP_AUTH_TOKEN' },
  qps: { type: 'number', group: SENDING, describe: 'request rate ceiling per second, 0 for none; lowered by itself on 40005', default: 50 },
  concurrency: { type: 'number', group: SENDING, describe: 'requests in flight at most', default: 8 },
  'max-attempts': { type: 'number', group: SENDING, describe: 'attempts per row for transient failures (20000, 40005, timeouts, 5xx)', default: 5 },
  'request-timeout': { type: 'number', group: SENDING, describe: 'seconds to wait for one answer', default: 15 },
  'backoff-ms': { type: 'number', group: SENDING, describe: 'base of the exponential retry backoff (full jitter), in ms', default: 500 },
  ledger: { type: 'string', group: RUN, describe: 'SQLite ledger file: what was sent, what Alipay answered, what it holds', default: './alipay-sync.db' },
  'rebind-ledger': { type: 'boolean', group: RUN, describe: 'bind a ledger used with another gateway/app id/app private key to this one (what it holds as uploaded elsewhere is sent again when its files are read)', default: false },
  encoding: { type: 'string', group: RUN, describe: 'CSV encoding: utf8 (BOM or not), gbk, gb18030', default: 'utf8' },
  rejects: { type: 'string', group: RUN, describe: 'write rejected rows here as CSV (line,field,reason,file, then the row), mode 0600' },
  'allow-test-category': { type: 'boolean', group: RUN, describe: 'borrow-entities: accept category_code "test", which Alipay requires in joint testing (联调); never in production', default: false },
  'allow-empty': { type: 'boolean', group: RUN, describe: 'a file with no data rows is fine (otherwise: a warning and exit 1, since an empty export usually means the export broke)', default: false },
  'dry-run': { type: 'boolean', group: RUN, describe: 'validate, check every setting and plan (new, changed, stale, unchanged, rejected); send nothing, change nothing', default: false },
  json: { type: 'boolean', group: RUN, describe: 'print a JSON object as the last line of stdout, on every exit (errors too)', default: false },
  verbose: { type: 'boolean', group: RUN, describe: 'log every request\'s outcome (personal data stays masked), and the stack of an internal error', default: false },
  progress: { type: 'boolean', group: RUN, describe: 'progress on stderr (a live line on a terminal, a line every 10 s otherwise); --no-progress to hide', default: true },
  config: { type: 'string', group: RUN, describe: 'JSON file of settings (same names as the flags); flags and env win over it' },
  'notify-url': { type: 'string', describe: 'effect: where Alipay sends dut_user_sign notifications (see notify serve)' },
  out: { type: 'string', describe: 'query: write every agreement found here (mode 0600), CSV, or JSON Lines when the name ends in .jsonl' },
  fresh: { type: 'boolean', describe: 'query: ask every user again, even those an interrupted run of the last 24 h already asked', default: false },
  port: { type: 'number', describe: 'port to listen on' },
  host: { type: 'string', describe: 'address to listen on (put it behind your HTTPS reverse proxy; 0.0.0.0 for all)', default: '127.0.0.1' },
  runs: { type: 'number', describe: 'how many recent runs to show', default: 10 },
  'app-public-key': { type: 'string', describe: 'the app public key that request signatures are checked with' },
  'alipay-private-key': { type: 'string', secret: true, describe: '"Alipay\'s" private key that answers are signed with' },
  'keys-dir': { type: 'string', describe: 'where its keys live: reused when present, made (mode 0600) when not', default: './sandbox-keys' },
  fault: { type: 'list', describe: 'inject faults, repeatable: KIND=SHARE, KIND one of unavailable, limited, system_error, http502, drop, slow, tamper, wrong_key, unsigned, duplicate_key, gbk_error, invalid_parameter, http403, http407, http408, http413, http429, html200, trickle, oversized' },
  behave: { type: 'list', describe: 'switch on a behaviour of the real gateway, repeatable: noBizSuccess, effectAgainSucceeds, unescapedSlash' },
  'slow-ms': { type: 'number', describe: 'delay of a "slow" answer', default: 3000 },
  'fault-seed': { type: 'number', describe: 'seed of the fault dice', default: 1 },
  'fault-max-per-request': { type: 'number', describe: 'at most this many faults for one identical request' },
  agreements: { type: 'string', describe: 'JSON file of user agreements it holds: [{"agreement_no","alipay_user_id","personal_product_code","sign_scene","status":"TEMP|NORMAL|STOP"},…]' },
  quota: { type: 'number', describe: 'requests per second it accepts before answering 40005' },
  examples: { type: 'string', describe: 'folder of sample CSVs [default: the package\'s examples/]' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

const SPECS: Readonly<Record<string, OptionSpec>> = OPTIONS;

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
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
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

/**
 * Where a JSON text first goes wrong (an offset into it): a strict recursive-descent reading of RFC 8259,
 * used only to point at the error after JSON.parse refused the text.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = () => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '' || m[0] === '-') fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    return number();
  };
  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (at) {
    return typeof at === 'number' ? Math.min(at, text.length) : 0;
  }
}
