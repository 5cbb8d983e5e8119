/**
 * What every benchmark shares: where things are, running a program as its own process with its CPU time and
 * peak RSS recorded (rusage-hook.ts), the sandbox gateway in its own process, and the arithmetic of request logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { KeyFiles } from '../pipeline/sandbox/keys.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DIST = join(ROOT, 'dist');
export const OUT = join(ROOT, 'bench', 'out');
export const CLI = join(DIST, 'pipeline', 'cli.js');
const HOOK = join(DIST, 'bench', 'rusage-hook.js');

export interface Usage { cpuMs: number; maxRssMb: number }
export interface Ran { code: number | null; stdout: string; stderr: string; ms: number; usage: Usage }

export function log(msg: string) {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** Start a node script as its own process, with the rusage hook preloaded; `done` resolves when it ends; `discard`: its stdout is not kept. */
export function spawnNode(script: string, args: string[], env: Record<string, string> = {}, o: { discard?: boolean } = {}): { child: ChildProcess; done: Promise<Ran> } {
  const usageFile = join(OUT, `usage-${process.hrtime.bigint()}.json`);
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', HOOK, script, ...args], {
    env: { ...process.env, ...env, BENCH_RUSAGE_OUT: usageFile }, stdio: ['ignore', o.discard ? 'ignore' : 'pipe', 'pipe'],
  });
  const done = new Promise<Ran>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      const usage = existsSync(usageFile) ? (JSON.parse(readFileSync(usageFile, 'utf8')) as Usage) : { cpuMs: NaN, maxRssMb: NaN };
      rmSync(usageFile, { force: true });
      resolve({ code, stdout, stderr, ms, usage });
    });
  });
  return { child, done };
}

/** Run a node script as its own process, with the rusage hook preloaded; `discard`: its stdout is not kept. */
export function runNode(script: string, args: string[], env: Record<string, string> = {}, o: { discard?: boolean } = {}): Promise<Ran> {
  return spawnNode(script, args, env, o).done;
}

export function lastJson(stdout: string): Record<string, number> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, number>;
}

export interface LoggedRequest { at: number; code: string; merchant?: string }

/** The sandbox gateway in its own process (with `extra` flags); returns its URL and a way to read its request log. */
export async function startSandbox(keys: KeyFiles, extra: string[] = []) {
  const child = spawn(process.execPath, [CLI, 'sandbox', '--port', '0', '--app-public-key', keys.appPublicKey, '--alipay-private-key', keys.alipayPrivateKey, ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
      const m = /listening on (\S+)/.exec(text);
      if (m) resolve(m[1]!);
    });
    child.on('exit', () => reject(new Error('sandbox exited')));
  });
  const admin = url.replace('/gateway.do', '/_sandbox');
  return {
    url,
    async requests(): Promise<LoggedRequest[]> {
      const res = await request(`${admin}/requests`);
      return (await res.body.json()) as LoggedRequest[];
    },
    async reset() {
      await (await request(`${admin}/reset`, { method: 'POST' })).body.text();
    },
    stop() {
      child.kill('SIGINT');
    },
  };
}

export function arrivalRate(at: number[]): number {
  if (at.length < 2) return 0;
  const sorted = [...at].sort((a, b) => a - b);
  return ((sorted.length - 1) * 1000) / (sorted[sorted.length - 1]! - sorted[0]!);
}

export function maxInWindow(at: number[], windowMs: number): number {
  const s = [...at].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < s.length; i++) {
    while (s[i]! - s[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

export const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
