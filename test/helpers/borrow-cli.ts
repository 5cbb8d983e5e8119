/** Borrow points through the CLI against a test sandbox (cli-safety*.test.ts): files, uploads, requests counted. */
import { runCli, type CliResult } from './cli.js';
import { entities, toCsv } from './borrow.js';
import type { TestSandbox } from './sandbox.js';
import { writeFile } from './tmp.js';

export const METHOD = 'zhima.merchant.borrow.entity.upload';

/** `n` valid borrow points, numbered from `from`, as a CSV file in `dir`. */
export function borrowFile(dir: string, name: string, n: number, from: number): string {
  return writeFile(dir, name, toCsv(entities(n, from)));
}

/** Requests of `method` the sandbox received. */
export function sent(sb: TestSandbox, method = METHOD): number {
  return sb.gateway.requests.filter((r) => r.method === method).length;
}

/** `upload borrow-entities` of `files` against the sandbox, with --json and a short backoff. */
export function upload(sb: TestSandbox, ledger: string, files: string[], extra: string[] = [], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(['upload', 'borrow-entities', ...files, ...sb.flags, '--ledger', ledger, '--json', '--no-progress', '--backoff-ms', '5', ...extra], { env });
}
