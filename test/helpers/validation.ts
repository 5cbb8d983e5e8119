import assert from 'node:assert/strict';
import type { Validation } from '../../sources/dataset.js';

/** The field → reason map of a rejected row; fails the test if the row was valid. */
export function errorsOf(v: Validation): Record<string, string> {
  assert.equal(v.ok, false, 'expected the row to be rejected');
  const out: Record<string, string> = {};
  if (!v.ok) for (const e of v.errors) out[e.field] = e.reason;
  return out;
}

/** The staged row of a valid one; fails the test with the reasons if it was rejected. */
export function rowOf(v: Validation) {
  if (!v.ok) assert.fail(`expected a valid row, got ${JSON.stringify(v.errors)}`);
  return v.row;
}
