/**
 * A real browser for tests of what a person looks at: Debian's Chromium (or CHROMIUM_PATH). A fresh machine does
 * not have it, and `npm install && npm test` must still pass there: when it is missing and this is root on a
 * Debian-like system, it is installed with apt-get (once, bounded in time, saying so on stderr). When it cannot
 * be found or installed, the caller fails loudly with the reason — never a silent pass.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The browser's path, or why there is none (to fail the test with). */
export function findChromium(): { path: string } | { missing: string } {
  if (existsSync(CHROMIUM)) return { path: CHROMIUM };
  const how = `install Debian's Chromium (apt-get install -y chromium) or set CHROMIUM_PATH`;
  if (process.env.CHROMIUM_PATH) return { missing: `CHROMIUM_PATH=${CHROMIUM} does not exist: ${how}` };
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) return { missing: `no Chromium at ${CHROMIUM}, and this is not root with apt-get: ${how}` };
  process.stderr.write(`# no Chromium at ${CHROMIUM}: installing Debian's (apt-get install -y chromium), once…\n`);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 180_000 });
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { env, stdio: 'ignore', timeout: 300_000 });
  } catch (err) {
    return { missing: `apt-get could not install chromium (${(err as Error).message.split('\n')[0]}): ${how}` };
  }
  return existsSync(CHROMIUM) ? { path: CHROMIUM } : { missing: `apt-get installed chromium, but not at ${CHROMIUM}: set CHROMIUM_PATH` };
}
