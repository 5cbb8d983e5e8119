/**
 * Issue 10: the sandbox must be an independent model of Alipay. If it shared the client's field tables or its
 * reading of answers, a wrong rule would be accepted by both sides and no test could show it. So nothing the
 * sandbox loads, directly or through another module, may come from sources/ (each dataset's fields and answer
 * rules) or from the client's rule code in pipeline/alipay/: classify.ts (the judge of answers), common-codes.ts,
 * verify.ts, response.ts, retry.ts, failure-streak.ts, excerpt.ts, client.ts, or any module added there later.
 * Only pipeline/alipay/sign.ts (crypto: signing, verifying, the sign string, Beijing timestamps) and keys.ts (key
 * parsing) are shared, on purpose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO } from './helpers/cli.js';

const SANDBOX = join(REPO, 'pipeline', 'sandbox');
/** The client modules the sandbox may load: pure crypto and key parsing. */
const ALIPAY_SHARED = new Set(['pipeline/alipay/sign.ts', 'pipeline/alipay/keys.ts']);
/** The client's rule code, named so that a rename or a removal shows here rather than passing unnoticed. */
const CLIENT_RULES = ['classify', 'common-codes', 'verify', 'response', 'retry', 'failure-streak', 'excerpt', 'client'];

/** Whether the sandbox must not load `rel` (a path from the repository's root): sources/**, pipeline/alipay/* but the shared two. */
function forbidden(rel: string): boolean {
  return rel.startsWith('sources/') || (rel.startsWith('pipeline/alipay/') && !ALIPAY_SHARED.has(rel));
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative module specifiers of a file: static imports and re-exports, dynamic import() and require(). */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of text.matchAll(re)) if (m[1]!.startsWith('.')) out.push(m[1]!);
  return out;
}

/** The .ts file a specifier names ('./x.js' → './x.ts'), or undefined. */
function resolveTs(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  for (const c of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) if (existsSync(c)) return c;
  return undefined;
}

test('the rule: sources/** and the client\'s rule code are forbidden, pipeline/alipay/sign.ts and keys.ts allowed', () => {
  for (const name of CLIENT_RULES) {
    const rel = `pipeline/alipay/${name}.ts`;
    assert.ok(existsSync(join(REPO, rel)), `${rel} exists (update CLIENT_RULES if it moved)`);
    assert.ok(forbidden(rel), `${rel} is forbidden`);
  }
  assert.ok(forbidden('sources/dataset.ts') && forbidden('sources/agreement-query.ts'));
  for (const rel of ALIPAY_SHARED) assert.ok(existsSync(join(REPO, rel)) && !forbidden(rel), `${rel} is shared`);
});

test('pipeline/sandbox/**/*.ts import nothing from sources/ or the client\'s rule code in pipeline/alipay/, directly or transitively', () => {
  const files = tsFiles(SANDBOX);
  assert.ok(files.length >= 10, `found the sandbox's files (${files.length})`);
  const bad: string[] = [];
  const seen = new Set<string>();
  const walk = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of specifiers(file)) {
      const target = resolveTs(file, spec);
      const rel = relative(REPO, target ?? resolve(dirname(file), spec)).split('\\').join('/');
      const path = [...chain, rel];
      if (forbidden(rel)) bad.push(path.join(' → '));
      else if (target) walk(target, path);
    }
  };
  for (const f of files) walk(f, [relative(REPO, f)]);
  assert.deepEqual(bad, [], `the sandbox must not load the client's rules:\n${bad.join('\n')}`);
});

test('every page the sandbox serves is its own transcription, with the page\'s error codes', async () => {
  const { PAGES } = await import('../pipeline/sandbox/pages/index.js');
  const { SandboxGateway } = await import('../pipeline/sandbox/server.js');
  const { generateKeyPairSync } = await import('node:crypto');
  const k = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const gw = new SandboxGateway({ appPublicKey: k.publicKey, alipayPrivateKey: k.privateKey });
  for (const method of gw.methods.keys()) {
    const page = PAGES.get(method);
    assert.ok(page, `${method} has a page in pipeline/sandbox/pages`);
    assert.ok(page.errors.length > 0, `${method} lists its business error codes`);
  }
  assert.deepEqual([...PAGES.keys()].sort(), [
    'alipay.ins.scene.contract.workersaas.upload', 'alipay.open.app.alipaycert.download', 'alipay.user.agreement.batch.query', 'alipay.user.agreement.query',
    'alipay.user.agreement.sign.effect', 'zhima.merchant.borrow.entity.upload',
  ]);
});
