import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFiles, workerContracts } from '../sources/worker-contracts.js';
import { contract } from './helpers/people.js';
import { errorsOf, rowOf } from './helpers/validation.js';

test('worker-contracts files: an empty JSON array [] is accepted, as the page asks for an array and not for at least one element', () => {
  assert.equal(checkFiles('[]'), null);
  assert.equal(checkFiles(' [ ] '), null);
  const row = rowOf(workerContracts.validate(contract(1, { files: '[]' })));
  // sent as a string, like any other files value
  assert.equal((JSON.parse(row.bizContent) as Record<string, string>)['files'], '[]');
  // the field itself is still required: an empty cell is not an empty array
  assert.equal(errorsOf(workerContracts.validate(contract(1, { files: '' })))['files'], 'required, but empty');
});

test('worker-contracts files: empty strings as fileName / fileUrl are accepted (the page names the properties, not their content)', () => {
  assert.equal(checkFiles('[{"fileName":"","fileUrl":""}]'), null);
  assert.equal(checkFiles('[{"fileName":"a.pdf","fileUrl":""}]'), null);
  assert.equal(checkFiles('[{"fileName":"","fileUrl":"https://x/a.pdf"}]'), null);
  assert.ok(workerContracts.validate(contract(1, { files: '[{"fileName":"","fileUrl":""}]' })).ok);
  // extra properties are the caller's business
  assert.equal(checkFiles('[{"fileName":"a","fileUrl":"b","size":3}]'), null);
});

test('worker-contracts files: still refused without string fileName and fileUrl properties, or when not a JSON array; reasons name no value', () => {
  const cases: [string, string][] = [
    ['not json', 'must be a JSON array of {"fileName": …, "fileUrl": …} objects'],
    ['{"fileName":"a","fileUrl":"b"}', 'must be a JSON array of {"fileName": …, "fileUrl": …} objects'],
    ['"[]"', 'must be a JSON array of {"fileName": …, "fileUrl": …} objects'],
    ['[null]', 'element 1 must be an object with fileName and fileUrl'],
    ['[["a","b"]]', 'element 1 must be an object with fileName and fileUrl'],
    ['["secret.pdf"]', 'element 1 must be an object with fileName and fileUrl'],
    ['[{"fileUrl":"u"}]', 'element 1 needs a string fileName'],
    ['[{"fileName":7,"fileUrl":"u"}]', 'element 1 needs a string fileName'],
    ['[{"fileName":"a"}]', 'element 1 needs a string fileUrl'],
    ['[{"fileName":"a","fileUrl":null}]', 'element 1 needs a string fileUrl'],
    ['[{"fileName":"a","fileUrl":"b"},{}]', 'element 2 needs a string fileName'],
  ];
  for (const [v, reason] of cases) {
    assert.equal(checkFiles(v), reason, v);
    assert.equal(errorsOf(workerContracts.validate(contract(1, { files: v })))['files'], reason, v);
  }
  assert.ok(!(checkFiles('["secret.pdf"]') ?? '').includes('secret'));
});
