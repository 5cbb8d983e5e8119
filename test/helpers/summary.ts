import assert from 'node:assert/strict';

/** A run summary's counts add up: read = rejected + superseded + unchanged + uploaded + failed + pending. */
export function addsUp(s: Record<string, unknown>): void {
  const n = (k: string) => s[k] as number;
  assert.equal(n('read'), n('rejected') + n('superseded') + n('unchanged') + n('uploaded') + n('failed') + n('pending'), JSON.stringify(s));
}
