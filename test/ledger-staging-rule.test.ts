import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RetryRefused, SendPolicy } from '../state/port.js';
import { addCounts, decideStage, type HeldRecord, type StageAction, type StageRuleBranch } from '../state/staging-rule.js';

/** The run staging now; OTHER staged the leftovers. */
const RUN = 7;
const OTHER = 3;
const T1 = '2024-01-01 00:00:00';
const T2 = '2024-01-02 00:00:00';
const T3 = '2024-01-03 00:00:00';

function held(o: Partial<HeldRecord>): HeldRecord {
  return { status: 'pending', snapshot: T2, hash: 'h2', run_id: RUN, uploaded_snapshot: null, uploaded_hash: null, retryable: 0, failure_code: null, ...o };
}
/** A key Alipay holds at T2 with content h2, nothing newer staged. */
const UPLOADED = held({ status: 'uploaded', run_id: OTHER, uploaded_snapshot: T2, uploaded_hash: 'h2' });

interface Case {
  name: string;
  held: HeldRecord | undefined;
  incoming: [snapshot: string, hash: string];
  policy?: SendPolicy;
  retry?: RetryRefused;
  action: StageAction;
  branch: StageRuleBranch;
  /** staged, superseded, unchanged (and refused, when not 0) added to the batch's counts */
  counts: [number, number, number] | [number, number, number, number];
}

const CASES: Case[] = [
  // a new key
  { name: 'new key', held: undefined, incoming: [T1, 'h1'], action: 'insert', branch: 'new-key', counts: [1, 0, 0] },
  { name: 'new key, policy once', held: undefined, incoming: [T1, 'h1'], policy: 'once', action: 'insert', branch: 'new-key', counts: [1, 0, 0] },
  { name: 'new key, policy always', held: undefined, incoming: [T1, 'h1'], policy: 'always', action: 'insert', branch: 'new-key', counts: [1, 0, 0] },

  // policies for a key Alipay holds
  { name: 'once: uploaded is done for good, even a newer snapshot', held: UPLOADED, incoming: [T3, 'h3'], policy: 'once', action: 'unchanged', branch: 'once-uploaded', counts: [0, 0, 1] },
  { name: 'once: uploaded, older snapshot', held: UPLOADED, incoming: [T1, 'h1'], policy: 'once', action: 'unchanged', branch: 'once-uploaded', counts: [0, 0, 1] },
  { name: 'always: uploaded is sent again, even identical', held: UPLOADED, incoming: [T2, 'h2'], policy: 'always', action: 'restage', branch: 'always-uploaded', counts: [1, 0, 0] },
  { name: 'always: uploaded is sent again, even older', held: UPLOADED, incoming: [T1, 'h1'], policy: 'always', action: 'restage', branch: 'always-uploaded', counts: [1, 0, 0] },

  // snapshot policy against what Alipay holds
  { name: 'older than Alipay holds', held: UPLOADED, incoming: [T1, 'h1'], action: 'superseded', branch: 'older-than-alipay', counts: [0, 1, 0] },
  { name: 'identical to what Alipay holds', held: UPLOADED, incoming: [T2, 'h2'], action: 'unchanged', branch: 'same-as-alipay', counts: [0, 0, 1] },
  { name: 'newer than Alipay holds', held: UPLOADED, incoming: [T3, 'h3'], action: 'restage', branch: 'newer-or-changed', counts: [1, 0, 0] },
  { name: 'same snapshot as Alipay holds, changed content', held: UPLOADED, incoming: [T2, 'hx'], action: 'restage', branch: 'newer-or-changed', counts: [1, 0, 0] },
  {
    name: 'older than Alipay holds while a newer row is pending',
    held: held({ snapshot: T3, hash: 'h3', uploaded_snapshot: T2, uploaded_hash: 'h2' }), incoming: [T1, 'h1'],
    action: 'superseded', branch: 'older-than-alipay', counts: [0, 1, 0],
  },
  {
    name: 'identical to what Alipay holds while a newer row is pending (the newer one still wins)',
    held: held({ snapshot: T3, hash: 'h3', uploaded_snapshot: T2, uploaded_hash: 'h2' }), incoming: [T2, 'h2'],
    action: 'unchanged', branch: 'same-as-alipay', counts: [0, 0, 1],
  },
  {
    name: 'identical to what Alipay holds, the row failed since (a later snapshot refused)',
    held: held({ status: 'failed', snapshot: T3, hash: 'h3', run_id: OTHER, uploaded_snapshot: T2, uploaded_hash: 'h2' }), incoming: [T2, 'h2'],
    action: 'unchanged', branch: 'same-as-alipay', counts: [0, 0, 1],
  },

  // against a row still to send: this run's
  { name: 'older than a row this run staged', held: held({}), incoming: [T1, 'h1'], action: 'superseded', branch: 'older-than-pending', counts: [0, 1, 0] },
  { name: 'an exact duplicate line within this run', held: held({}), incoming: [T2, 'h2'], action: 'superseded', branch: 'duplicate-in-run', counts: [0, 1, 0] },
  { name: 'newer than a row this run staged: replaces it', held: held({}), incoming: [T3, 'h3'], action: 'restage', branch: 'replaces-own', counts: [0, 1, 0] },
  { name: 'same snapshot, other content than a row this run staged: the later wins', held: held({}), incoming: [T2, 'hx'], action: 'restage', branch: 'replaces-own', counts: [0, 1, 0] },
  {
    name: 'newer than this run\'s row, Alipay holding an older one',
    held: held({ uploaded_snapshot: T1, uploaded_hash: 'h1' }), incoming: [T3, 'h3'],
    action: 'restage', branch: 'replaces-own', counts: [0, 1, 0],
  },

  // against a row still to send: a leftover of an earlier run (the folded twin of 'older than a row this run staged')
  { name: 'older than a pending leftover: the leftover is newer and still wanted', held: held({ run_id: OTHER }), incoming: [T1, 'h1'], action: 'superseded', branch: 'older-than-pending', counts: [0, 1, 0] },
  { name: 'older than a failed leftover', held: held({ status: 'failed', run_id: OTHER }), incoming: [T1, 'h1'], action: 'superseded', branch: 'older-than-pending', counts: [0, 1, 0] },
  { name: 'the same row as a pending leftover: this run takes it over (resume)', held: held({ run_id: OTHER }), incoming: [T2, 'h2'], action: 'restage', branch: 'takes-over-leftover', counts: [1, 0, 0] },
  { name: 'newer than a pending leftover', held: held({ run_id: OTHER }), incoming: [T3, 'h3'], action: 'restage', branch: 'takes-over-leftover', counts: [1, 0, 0] },
  { name: 'the same row as a leftover the gateway\'s trouble failed: tried again', held: held({ status: 'failed', run_id: OTHER, retryable: 1 }), incoming: [T2, 'h2'], action: 'restage', branch: 'takes-over-leftover', counts: [1, 0, 0] },
  { name: 'a changed row whose earlier content Alipay refused: sent', held: held({ status: 'failed', run_id: OTHER, failure_code: 'ILLEGAL_ARGUMENT' }), incoming: [T2, 'hx'], action: 'restage', branch: 'takes-over-leftover', counts: [1, 0, 0] },

  // a row Alipay refused for its content, unchanged: not sent again unless the operator asks
  { name: 'the same row as one Alipay refused: still refused', held: held({ status: 'failed', run_id: OTHER, failure_code: 'ILLEGAL_ARGUMENT' }), incoming: [T2, 'h2'], action: 'refused', branch: 'still-refused', counts: [0, 0, 0, 1] },
  {
    name: '--retry-failed: the same row as one Alipay refused is sent again', held: held({ status: 'failed', run_id: OTHER, failure_code: 'ILLEGAL_ARGUMENT' }), incoming: [T2, 'h2'],
    retry: {}, action: 'restage', branch: 'retry-refused', counts: [1, 0, 0],
  },
  {
    name: '--retry-failed --sub-code of its answer: sent again', held: held({ status: 'failed', run_id: OTHER, failure_code: 'ILLEGAL_ARGUMENT' }), incoming: [T2, 'h2'],
    retry: { subCode: 'ILLEGAL_ARGUMENT' }, action: 'restage', branch: 'retry-refused', counts: [1, 0, 0],
  },
  {
    name: '--retry-failed --sub-code of another answer: still refused', held: held({ status: 'failed', run_id: OTHER, failure_code: 'ILLEGAL_ARGUMENT' }), incoming: [T2, 'h2'],
    retry: { subCode: 'INFOSEC_VERIFY_FAILED' }, action: 'refused', branch: 'still-refused', counts: [0, 0, 0, 1],
  },
  { name: 'the same row as one a rebind marked as not sent to the new target: sent', held: held({ status: 'failed', run_id: OTHER, failure_code: 'REBOUND' }), incoming: [T2, 'h2'], action: 'restage', branch: 'takes-over-leftover', counts: [1, 0, 0] },
  { name: 'once: an agreement Alipay refused, unchanged: still refused', held: held({ status: 'failed', run_id: OTHER, snapshot: '', hash: 'h2' }), incoming: ['', 'h2'], policy: 'once', action: 'refused', branch: 'still-refused', counts: [0, 0, 0, 1] },
  { name: 'the same row as a failed row of this run (a retry within the run)', held: held({ status: 'failed' }), incoming: [T2, 'h2'], action: 'superseded', branch: 'duplicate-in-run', counts: [0, 1, 0] },

  // the policies once and always change only what happens to an uploaded key
  { name: 'once: a pending leftover is taken over as under snapshot', held: held({ run_id: OTHER }), incoming: [T2, 'h2'], policy: 'once', action: 'restage', branch: 'takes-over-leftover', counts: [1, 0, 0] },
  { name: 'once: a failed key is sent again', held: held({ status: 'failed', run_id: OTHER }), incoming: [T3, 'h3'], policy: 'once', action: 'restage', branch: 'takes-over-leftover', counts: [1, 0, 0] },
  { name: 'always: a duplicate within the run is still one request', held: held({}), incoming: [T2, 'h2'], policy: 'always', action: 'superseded', branch: 'duplicate-in-run', counts: [0, 1, 0] },
  { name: 'always: an older row than this run\'s is superseded', held: held({}), incoming: [T1, 'h1'], policy: 'always', action: 'superseded', branch: 'older-than-pending', counts: [0, 1, 0] },
];

for (const c of CASES) {
  test(`staging rule: ${c.name} → ${c.action} (${c.branch})`, () => {
    const d = decideStage(c.held, { snapshot: c.incoming[0], hash: c.incoming[1] }, RUN, c.policy ?? 'snapshot', c.retry ?? null);
    assert.equal(d.action, c.action);
    assert.equal(d.branch, c.branch);
    assert.deepEqual([d.counts.staged, d.counts.superseded, d.counts.unchanged, d.counts.refused], [...c.counts, 0].slice(0, 4));
    // the row that lost, for the ledger's list of superseded lines
    assert.equal(d.loser, d.counts.superseded ? (d.action === 'restage' ? 'held' : 'incoming') : undefined);
  });
}

test('staging rule: the table covers every branch', () => {
  const all = { 'new-key': true, 'once-uploaded': true, 'always-uploaded': true, 'older-than-alipay': true, 'same-as-alipay': true,
    'older-than-pending': true, 'duplicate-in-run': true, 'replaces-own': true, 'takes-over-leftover': true, 'newer-or-changed': true,
    'still-refused': true, 'retry-refused': true,
  } satisfies Record<StageRuleBranch, true>;
  assert.deepEqual(new Set(CASES.map((c) => c.branch)), new Set(Object.keys(all)));
});

test('staging rule: a run of decisions adds up as stage() counts them (a key restaged twice by its run counts once)', () => {
  const counts = { staged: 0, superseded: 0, unchanged: 0, refused: 0 };
  addCounts(counts, decideStage(undefined, { snapshot: T1, hash: 'h1' }, RUN, 'snapshot'));
  addCounts(counts, decideStage(held({ snapshot: T1, hash: 'h1' }), { snapshot: T2, hash: 'h2' }, RUN, 'snapshot'));
  addCounts(counts, decideStage(held({ snapshot: T2, hash: 'h2' }), { snapshot: T3, hash: 'h3' }, RUN, 'snapshot'));
  addCounts(counts, decideStage(held({ snapshot: T3, hash: 'h3' }), { snapshot: T1, hash: 'h1' }, RUN, 'snapshot'));
  assert.deepEqual(counts, { staged: 1, superseded: 3, unchanged: 0, refused: 0 });
});

test('staging rule: decisions are shared and frozen (the hot path allocates nothing per row)', () => {
  const a = decideStage(undefined, { snapshot: T1, hash: 'h1' }, RUN, 'snapshot');
  const b = decideStage(undefined, { snapshot: T2, hash: 'h2' }, OTHER, 'always');
  assert.equal(a, b);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.counts));
});
