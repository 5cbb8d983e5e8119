import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Progress } from '../pipeline/progress.js';
import { streamLogger } from '../pipeline/log.js';
import { waitUntil } from './helpers/wait.js';

/** A stream that looks like a terminal of `columns` columns (or a log file), and keeps what was written. */
function fakeStream(o: { tty: boolean; columns?: number }): Writable & { isTTY?: boolean; columns?: number; out: string[] } {
  const out: string[] = [];
  const s = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString());
      cb();
    },
  }) as Writable & { isTTY?: boolean; columns?: number; out: string[] };
  s.isTTY = o.tty;
  if (o.columns !== undefined) s.columns = o.columns;
  s.out = out;
  return s;
}

/** What a terminal shows on each physical line: text after the last \r of the line, with escapes removed. */
function screenLines(raw: string): string[] {
  return raw.split('\n').flatMap((line) => line.split('\r')).map((seg) => seg.replaceAll('\x1b[K', ''));
}

test('on a terminal the line fits every width (never wraps), keeping the most useful parts', () => {
  let now = 1_000_000;
  for (const columns of [20, 40, 60, 80, 100, 132, 200]) {
    const stream = fakeStream({ tty: true, columns });
    const p = new Progress({ stream, label: 'sending borrow-entities', total: 1_234_567, clock: () => now, intervalMs: 1e9 });
    p.update(0, () => ['12,345 failed', '67,890 retries', 'limit 25.0/s']);
    for (let i = 1; i <= 20; i++) {
      now += 1000;
      p.update(i * 4321);
      const text = p.text();
      assert.ok(text.length <= columns - 1, `${columns} columns: ${JSON.stringify(text)} is ${text.length} long`);
      assert.ok(/^[\x20-\x7e]*$/.test(text), 'ASCII only: one column per character on any terminal');
    }
    const text = p.text();
    if (columns >= 80) {
      // at 80 columns the counts, the percentage and the ETA are all there
      assert.match(text, /86,420\/1,234,567 7\.0% .*ETA \d+m\d+s/, `${columns}: ${text}`);
    }
    if (columns >= 132) assert.match(text, /\[#*\.+\]/, 'a bar where there is room');
    if (columns >= 132) assert.match(text, /\| 12,345 failed, 67,890 retries/);
    p.finish();
    for (const seg of screenLines(stream.out.join(''))) assert.ok(seg.length <= columns - 1, `final line fits ${columns}: ${seg}`);
  }
});

test('log lines on a terminal clear the status line and draw it again under them; the final line replaces it', () => {
  const now = 5_000_000;
  const stream = fakeStream({ tty: true, columns: 80 });
  const logger = streamLogger(stream, false);
  const p = new Progress({ stream, label: 'sending borrow-entities', total: 100, clock: () => now, intervalMs: 1e9 });
  p.update(40, () => ['2 failed']);
  logger.warn('points.csv:7: E000007: failed: isv.invalid-parameter');
  logger.info('retrying 3 row(s)');
  p.update(100);
  p.finish();
  logger.warn('after the bar');
  const raw = stream.out.join('');
  // every log line starts at column 0: after an erase of the line (or a fresh line), never glued onto the bar
  for (const m of raw.matchAll(/warning: |retrying/g)) {
    const before = raw.slice(0, m.index);
    assert.ok(before === '' || before.endsWith('\r\x1b[K') || before.endsWith('\n'), `glued: ${JSON.stringify(raw.slice(Math.max(0, m.index! - 30), m.index! + 10))}`);
  }
  // and the bar is drawn again after each of them
  assert.match(raw, /isv\.invalid-parameter\nsending borrow-entities/);
  assert.match(raw, /retrying 3 row\(s\)\nsending borrow-entities/);
  // the final line, then nothing of the bar after it
  const lines = screenLines(raw).filter(Boolean);
  // under a second there is no rate to speak of: "<1s", no "(…/s)" (12 rows in 0.2 s are not 60/s at --qps 50)
  assert.match(lines[lines.length - 2]!, /^sending borrow-entities: done 100 in <1s \| 2 failed$/);
  assert.equal(lines[lines.length - 1], 'warning: after the bar');
});

test('off a terminal: a timestamped line per interval from a timer only (updates print nothing), and a final line', async () => {
  const stream = fakeStream({ tty: false });
  const p = new Progress({ stream, label: 'staging borrow-entities', total: 10 * 1024 * 1024, unit: 'bytes', intervalMs: 40 });
  for (let i = 0; i < 5000; i++) p.update(i * 100, () => [`${i} rows`]);
  assert.equal(stream.out.length, 0, 'updates never write: only the timer does, so lines cannot come in near-duplicate pairs');
  await waitUntil(() => stream.out.length >= 2, { ms: 10_000, what: 'two progress lines' });
  p.update(10 * 1024 * 1024);
  p.finish();
  const n = stream.out.length;
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(stream.out.length, n, 'nothing after the final line');
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d /;
  for (const line of stream.out) {
    assert.match(line, iso, 'every line starts with the local time and its offset');
    assert.ok(line.endsWith('\n') && !line.includes('\r') && !line.includes('\x1b'), 'plain lines for logs');
  }
  assert.match(stream.out[0]!, /staging borrow-entities \d+(\.\d)? KB\/10\.0 MB \d+\.\d% .*\/s ETA /);
  assert.match(stream.out[n - 1]!, /staging borrow-entities: done 10\.0 MB in (\d+s|<1s) \| 4999 rows\n$/);
});

test('an interrupted phase ends with "stopped" and how far it got', () => {
  const stream = fakeStream({ tty: false });
  let now = 0;
  const p = new Progress({ stream, label: 'sending worker-contracts', total: 1000, clock: () => now, intervalMs: 1e9 });
  now = 60_000;
  p.update(250, () => ['0 failed']);
  p.finish('stopped');
  assert.match(stream.out.join(''), /sending worker-contracts: stopped 250\/1,000 in 1m00s \(4\.17\/s\) \| 0 failed\n$/);
});

test('disabled progress writes nothing at all', async () => {
  const stream = fakeStream({ tty: true, columns: 80 });
  const p = new Progress({ stream, label: 'x', total: 10, enabled: false, intervalMs: 5 });
  p.update(5);
  await new Promise((r) => setTimeout(r, 30));
  p.finish();
  assert.deepEqual(stream.out, []);
});

test('in a real 80-column pseudo-terminal (script): the bar never wraps, warnings go above it, a final line stays', async () => {
  const { spawnSync, spawn } = await import('node:child_process');
  const { join } = await import('node:path');
  const { CLI, REPO } = await import('./helpers/cli.js');
  const { startSandbox } = await import('./helpers/sandbox.js');
  const { tempDir, writeFile } = await import('./helpers/tmp.js');
  const { entities, toCsv } = await import('./helpers/borrow.js');
  assert.equal(spawnSync('script', ['--version']).status, 0, 'this test needs script(1) from util-linux (Debian: bsdutils) to make a pseudo-terminal');
  // a share of rows refused (a warning each), sent slowly enough for the bar to be redrawn many times
  const sb = await startSandbox({ faults: { rates: { invalid_parameter: 0.25 } } });
  const dir = tempDir();
  const csv = writeFile(dir, 'points.csv', toCsv(entities(40)));
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const cli = [process.execPath, CLI, 'upload', 'borrow-entities', csv, ...sb.flags, '--ledger', join(dir, 'l.db'), '--qps', '20', '--concurrency', '2'].map(quote).join(' ');
  const child = spawn('script', ['-qec', `stty cols 80 rows 24; exec ${cli}`, '/dev/null'], {
    cwd: REPO, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TZ: 'UTC', TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (raw += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (raw += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  assert.equal(code, 1, raw);
  // Play the bytes on an 80-column screen: a character written past column 80 wraps to the next line. A long
  // warning may wrap (it is written once); the status line must never (each redraw would leave a copy behind).
  let col = 0;
  const screen: string[] = [''];
  const wrapped: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\x1b') {
      // eslint-disable-next-line no-control-regex -- an escape sequence is what this reads
      const m = /^\x1b\[[0-9;?]*[A-Za-z]/.exec(raw.slice(i));
      assert.ok(m, `an escape sequence we do not write: ${JSON.stringify(raw.slice(i, i + 8))}`);
      if (m[0] === '\x1b[K') screen[screen.length - 1] = screen[screen.length - 1]!.slice(0, col);
      i += m[0].length - 1;
    } else if (ch === '\r') col = 0;
    else if (ch === '\n') {
      screen.push('');
      col = 0;
    } else {
      if (col >= 80) {
        wrapped.push(screen.length - 1);
        screen.push('');
        col = 0;
      }
      const line = screen[screen.length - 1]!;
      screen[screen.length - 1] = line.slice(0, col) + ch + line.slice(col + 1);
      col++;
    }
  }
  for (const i of wrapped) assert.ok(!/^(sending|staging) borrow-entities/.test(screen[i]!), `the status line wrapped: ${screen[i]}`);
  const shown = screen.map((l) => l.trimEnd()).filter(Boolean);
  // each warning starts a line of its own, at column 0, never after a piece of the bar
  const warnings = shown.filter((l) => l.includes('warning: '));
  assert.ok(warnings.length >= 3, shown.join('\n'));
  for (const w of warnings) assert.match(w, /^warning: \/.*points\.csv:\d+: \w+\/E\d+: failed:/, 'each warning on a line of its own, from column 0');
  assert.ok(raw.split('\r\x1b[Ksending borrow-entities').length > 3, 'the bar was drawn in place several times');
  // done counts answered rows, failed ones included: a row that failed is among the done of every bar drawn after it
  // (also the bar drawn again right under its warning)
  const bars = [...raw.matchAll(/sending borrow-entities (\d+)\/40 .*?\| (\d+) failed/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
  assert.ok(bars.length > 3);
  for (let i = 1; i < bars.length; i++) {
    const [[n1, f1], [n2, f2]] = [bars[i - 1]!, bars[i]!];
    assert.ok(n2 - n1 >= f2 - f1, `a bar counts a failure its done does not: ${n1}/40 ${f1} failed, then ${n2}/40 ${f2} failed`);
  }
  const final = shown.map((l) => /^sending borrow-entities: done 40 in (\d+)s \((\d+\.\d+)\/s\) \| \d+ failed, 0 retries$/.exec(l)).find(Boolean);
  assert.ok(final, shown.join('\n'));
  assert.ok(Number(final[2]) <= 20 * 1.02, `the rate of the final line is rows over the seconds sending took: never above --qps 20 (${final[2]}/s)`);
  // the summary says the same rate (the same definition, timed by the run a few ms apart from the bar: within 2%)
  const sent = /sent 40 row\(s\) in (\d+)s \((\d+\.\d+)\/s\): uploaded \d+, failed \d+/.exec(raw);
  assert.ok(sent, raw);
  assert.ok(Math.abs(Number(sent[2]) - Number(final[2])) <= Number(final[2]) * 0.02, `summary ${sent[2]}/s, final line ${final[2]}/s`);
  assert.ok(shown.some((l) => /^staging borrow-entities: done /.test(l)));
  // the summary's equation does not wrap on 80 columns: two lines, the second under its "="
  for (const i of wrapped) assert.ok(!/read \d+ =|\+ uploaded/.test(screen[i]!), `the summary wrapped: ${screen[i]}`);
  const eq = shown.findIndex((l) => /^ {2}read 40 = rejected 0 \+ superseded 0 \+ unchanged 0$/.test(l));
  assert.ok(eq >= 0, shown.join('\n'));
  assert.match(shown[eq + 1]!, /^ {10}\+ uploaded \d+ \+ failed \d+ \+ pending 0$/);
  assert.ok(!shown.some((l) => /sending borrow-entities \S+\/40/.test(l)), 'no bar left on the screen after the final line');
});

test('off a terminal the CLI writes timestamped progress lines; --quiet leaves only warnings, errors and the summary', async () => {
  const { join } = await import('node:path');
  const { runCli } = await import('./helpers/cli.js');
  const { startSandbox } = await import('./helpers/sandbox.js');
  const { tempDir, writeFile } = await import('./helpers/tmp.js');
  const { entities, entity, toCsv } = await import('./helpers/borrow.js');
  const sb = await startSandbox();
  const dir = tempDir();
  const csv = writeFile(dir, 'points.csv', toCsv([...entities(20), entity(99, { latitude: '91' })]));
  const base = ['upload', 'borrow-entities', csv, ...sb.flags, '--qps', '200'];
  const logged = await runCli([...base, '--ledger', join(dir, 'a.db'), '--progress-interval', '0.05']);
  assert.equal(logged.code, 1, logged.stderr);
  const progress = logged.stderr.split('\n').filter((l) => /(staging|sending) borrow-entities/.test(l));
  assert.ok(progress.length >= 2, logged.stderr);
  for (const l of progress) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d (staging|sending) borrow-entities/);
  assert.match(logged.stderr, /sending borrow-entities: done 20 in (\d+s|<1s)/);
  for (const spelling of ['--quiet', '--quiet=ON']) {
    const quiet = await runCli([...base, '--ledger', join(dir, `q${spelling.length}.db`), spelling]);
    assert.equal(quiet.code, 1, quiet.stderr);
    assert.deepEqual(quiet.stderr.trim().split('\n').map((l) => l.replace(/:.*/, '')), ['warning'], `${spelling}: only the rejected row's warning: ${quiet.stderr}`);
    assert.match(quiet.stdout, /read 21 = rejected 1 \+ superseded 0 \+ unchanged 0 \+ uploaded 20/);
  }
  const env = await runCli([...base, '--ledger', join(dir, 'env.db')], { env: { ALIPAY_SYNC_QUIET: '1' } });
  assert.doesNotMatch(env.stderr, /borrow-entities/, 'ALIPAY_SYNC_QUIET=1 is --quiet');
  assert.equal((await runCli([...base, '--ledger', join(dir, 'x.db'), '--progress-interval', '0'])).code, 2, 'an interval of 0 is a usage error');
});
