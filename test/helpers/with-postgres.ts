/**
 * `npm test` runs the suite through this: one real PostgreSQL server (test/helpers/pg-server.ts) for every test
 * file, its URL in TEST_POSTGRES_URL, stopped when the suite ends (also when the suite is killed). Usage:
 * node dist/test/helpers/with-postgres.js <command> [args…]
 */
import { spawn } from 'node:child_process';
import { startPostgres } from './pg-server.js';

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  process.stderr.write('usage: with-postgres <command> [args…]\n');
  process.exit(2);
}
const server = await startPostgres();
process.stderr.write(`PostgreSQL for the tests: ${server.url} (${server.source})\n`);
const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, TEST_POSTGRES_URL: server.url } });
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
const code = await new Promise<number>((resolve) => child.on('close', (c, s) => resolve(c ?? (s ? 128 + 15 : 1))));
await server.stop();
process.exit(code);
