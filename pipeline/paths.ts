import { accessSync, constants, lstatSync, openSync, readdirSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { Ledger } from '../state/ledger.js';
import { DEFAULT_SCHEMA, checkLocation, checkSchemaName, isPostgresLocation } from '../state/postgres/location.js';
import { SyncError } from './errors.js';
import { OPTIONS } from './options.js';

/**
 * Paths a user types, checked before anything is read or sent: every input file (globs a shell did not expand,
 * a file named twice), and every output (the ledger, --rejects, --out), so that a typo is exit 2 within a second,
 * holding no lock, instead of a hang, a lie or a destroyed input.
 */

function osReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    case 'EROFS': return 'read-only file system';
    case 'ELOOP': return 'a symbolic link (refused)';
    case 'EISDIR': return 'is a directory';
    default: return e.code ?? e.message;
  }
}

function input(message: string, file?: string): never {
  throw new SyncError('SYNC_SOURCE_READ', message, file ? { file } : {});
}

function output(message: string): never {
  throw new SyncError('SYNC_OUTPUT', message);
}

const WILDCARD = /[*?[]/;

/** A shell-style pattern of one path segment (`*`, `?`, `[abc]`) as a RegExp. */
function segmentPattern(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * The files of `<file..>`, in the order given: a pattern the shell left alone (quoted in a crontab, or matching
 * nothing) is expanded here, in its last path segment; a file named twice (also through a pattern or another
 * spelling of its path) is read once, with a warning. A missing file, a directory, or a pattern that matches
 * nothing is exit 2 before anything is read.
 */
export function resolveInputs(args: readonly string[], warn: (msg: string) => void): string[] {
  if (args.length === 0) input('name at least one CSV file');
  const out: string[] = [];
  const seen = new Map<string, string>();
  const add = (file: string) => {
    if (file === '-') input('reading from standard input (-) is not supported: save the export to a file and name that file');
    let st;
    try {
      st = statSync(file);
    } catch (err) {
      return input(`cannot read ${file}: ${osReason(err)}`, file);
    }
    if (st.isDirectory()) input(`${file} is a directory: name the CSV files in it (e.g. ${join(file, '*.csv')})`, file);
    // Files are read twice (header check, then rows) and re-read by reruns: a pipe or device cannot be.
    if (!st.isFile()) input(`${file} is not a regular file (a pipe or device?): save the export to a file and name that file`, file);
    // The same file under another name (a hard link, a symlink, ./x and x) is the same inode.
    const real = `${st.dev}:${st.ino}`;
    const first = seen.get(real);
    if (first !== undefined) {
      warn(`${file} is named more than once${first !== file ? ` (also as ${first})` : ''}: reading it once`);
      return;
    }
    seen.set(real, file);
    out.push(file);
  };
  for (const arg of args) {
    let exists = true;
    try {
      statSync(arg);
    } catch {
      exists = false;
    }
    if (exists || !WILDCARD.test(basename(arg))) {
      add(arg);
      continue;
    }
    const dir = dirname(arg);
    if (WILDCARD.test(dir)) input(`${arg}: wildcards are expanded in the file name only, not in directories (let the shell expand it)`);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      return input(`cannot read ${arg}: directory ${dir}: ${osReason(err)}`);
    }
    const re = segmentPattern(basename(arg));
    const matches = names.filter((n) => re.test(n) && !n.startsWith('.')).sort();
    if (matches.length === 0) input(`no file matches ${arg}`);
    for (const m of matches) add(dir === '.' && !arg.startsWith('./') ? m : join(dir, m));
  }
  return out;
}

/** The same file: the same path, or (when both exist) the same inode, so hard links and symlinks count too. */
function same(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

function writableDir(flag: string, path: string): void {
  const dir = dirname(resolve(path));
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    return output(`${flag} ${path}: cannot create it: directory ${dir}: ${osReason(err)}`);
  }
  if (!st.isDirectory()) output(`${flag} ${path}: cannot create it: ${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    output(`${flag} ${path}: cannot create it in ${dir}: ${osReason(err)}`);
  }
}

/**
 * --ledger: a file of ours, or none yet (created in a directory that exists and is writable). Anything else —
 * a directory, a file that is not an alipay-sync ledger, an unwritable place — is refused before anything.
 * A dry run never creates a ledger, so an absent one needs no writable directory.
 */
export function checkLedgerPath(path: string, o: { dryRun: boolean; readOnly?: boolean; mustExist?: string; schema?: string }): 'absent' | 'ledger' {
  // A PostgreSQL ledger: the URL and schema must make sense; whether it exists is the server's to say, at open.
  if (isPostgresLocation(path)) {
    checkLocation(path);
    checkSchemaName(o.schema ?? DEFAULT_SCHEMA);
    return 'ledger';
  }
  const seen = Ledger.inspect(path);
  switch (seen.kind) {
    case 'directory':
      return output(`--ledger ${path} is a directory: name a file in it, e.g. ${join(path, 'alipay-sync.db')}`);
    case 'not-ledger':
      return output(`--ledger ${path} is not an alipay-sync ledger (${seen.reason}); refusing to touch it: name another file`);
    case 'absent':
    case 'empty':
      if (o.readOnly) {
        return output(path === OPTIONS.ledger.default
          ? `no ledger at ${path}, the default (pass --ledger with the ledger your runs use, or run an upload first)`
          : `no ledger at ${path} (is --ledger right? a ledger is made by the first upload or agreements run)`);
      }
      if (o.mustExist) return output(`no ledger at ${path}: ${o.mustExist}`);
      if (!o.dryRun) writableDir('--ledger', path);
      return 'absent';
    default:
      if (!o.readOnly) {
        try {
          accessSync(path, constants.R_OK | constants.W_OK);
        } catch (err) {
          output(`--ledger ${path}: ${osReason(err)}`);
        }
        // SQLite writes its -wal and -shm files beside the ledger.
        writableDir('--ledger', path);
      }
      return 'ledger';
  }
}

/**
 * --rejects / --out: a plain file in a writable directory, never an input, the ledger, a file the run reads
 * (a key, the config), another output, a device, or a symbolic link (a link could point the tool at a file it
 * would then destroy). The same file under another name (a hard link) counts as the same.
 */
export function checkOutputPath(
  flag: string, path: string, o: { inputs: readonly string[]; ledger?: string; reads?: readonly { label: string; path: string }[] },
): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    st = null;
  }
  if (st?.isSymbolicLink()) output(`${flag} ${path} is a symbolic link: refusing to write through it; name the file itself`);
  if (st?.isDirectory()) output(`${flag} ${path} is a directory: name a file`);
  if (st && !st.isFile()) output(`${flag} ${path} is not a regular file (a device or pipe?): name a file`);
  for (const f of o.inputs) if (same(f, path)) output(`${flag} ${path} is also an input file: writing it would destroy the input`);
  for (const r of o.reads ?? []) if (same(r.path, path)) output(`${flag} ${path} is also ${r.label}: writing it would destroy it`);
  if (o.ledger && [o.ledger, `${o.ledger}-wal`, `${o.ledger}-shm`].some((l) => same(l, path))) {
    output(`${flag} ${path} is the ledger: writing it would destroy the ledger`);
  }
  writableDir(flag, path);
  if (st) {
    try {
      accessSync(path, constants.W_OK);
    } catch (err) {
      output(`${flag} ${path}: ${osReason(err)}`);
    }
  }
}

/** A partial file beside `path`, created exclusively (0600, a name nobody can guess or pre-create). */
export function openPartial(flag: string, path: string): { fd: number; partial: string } {
  const partial = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.partial`);
  try {
    return { fd: openSync(partial, 'wx', 0o600), partial };
  } catch (err) {
    return output(`${flag} ${path}: cannot create ${partial}: ${osReason(err)}`);
  }
}
