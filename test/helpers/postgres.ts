import { randomBytes } from 'node:crypto';
import { startPostgres, type PgServer } from './pg-server.js';

/**
 * The PostgreSQL server the tests use: the one `npm test` started for the whole suite (its URL in
 * TEST_POSTGRES_URL, see test/helpers/with-postgres.ts), else one started for this test file's process (when
 * a file is run alone), stopped when the process ends. Every test takes a schema of its own (freshSchema), so
 * tests never see each other's rows.
 */
let own: Promise<PgServer> | null = null;

export async function pgUrl(): Promise<string> {
  const shared = process.env.TEST_POSTGRES_URL;
  if (shared) return shared;
  own ??= startPostgres().then((s) => {
    process.once('exit', () => void s.stop());
    return s;
  });
  return (await own).url;
}

export function freshSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}
