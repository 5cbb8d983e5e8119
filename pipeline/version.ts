import { readFileSync } from 'node:fs';

/**
 * This alipay-sync's version (package.json), for `--version` and every `--json` object: a machine reading a
 * summary or a ledger's report knows which release wrote it. dist/pipeline/version.js → ../../package.json.
 */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
})();
