import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  agreementEffects,
  agreementQueries,
  borrowEntities,
  checkJsonText,
  looksLikeIdCard,
  looksLikeMobile,
  maskIdCard,
  maskLookAlike,
  maskPhone,
  readCsv,
  SourceError,
  workerContracts,
  type Dataset,
} from '../sources/index.js';
import { entity } from './helpers/borrow.js';
import { contract, idCard, phone } from './helpers/people.js';
import { tempDir, writeFile } from './helpers/tmp.js';

const ID = idCard(7);
const ID_X = Array.from({ length: 200 }, (_, i) => idCard(i)).find((v) => v.endsWith('X'))!;
const PHONE = phone(3);

/** Valid rows of every dataset, to put one odd value into. */
const DATASETS: [Dataset, Record<string, string>][] = [
  [borrowEntities, entity(1)],
  [workerContracts, contract(1)],
  [agreementEffects, { external_agreement_no: 'EXT1', sign_scene: 'INDUSTRY|GAME', personal_product_code: 'GENERAL_WITHHOLDING_P', alipay_user_id: '2088101122675263' }],
  [agreementQueries, { personal_product_code: 'GENERAL_WITHHOLDING_P', alipay_user_id: '2088101122675263' }],
];

/** Every 6-digit window of the value's digit runs: a reason holding one repeats part of the number. */
function windows(value: string): string[] {
  const out: string[] = [];
  for (const run of value.match(/\d{6,}/g) ?? []) for (let i = 0; i + 6 <= run.length; i++) out.push(run.slice(i, i + 6));
  return out;
}

test('no validation reason of any dataset repeats an ID or phone number put in any column', () => {
  const probes = [
    ID, ID_X, ` ${ID} `, PHONE, `+86${PHONE}`, `86 ${PHONE}`, `电话${PHONE}`, `{"id":"${ID}"`, `${ID}0`, `${ID}${PHONE}`,
    `${PHONE}x`, `[{"fileName":"${ID}.pdf"}]`, `${ID.slice(0, 17)}`,
  ];
  let rejected = 0;
  for (const [ds, base] of DATASETS) {
    for (const f of ds.fields) {
      for (const probe of probes) {
        const v = ds.validate({ ...base, [f.name]: probe });
        if (v.ok) continue;
        rejected++;
        for (const e of v.errors) {
          for (const w of windows(probe)) {
            assert.ok(!e.reason.includes(w), `${ds.name}.${f.name}=${JSON.stringify(probe)}: reason for ${e.field} repeats digits: ${e.reason}`);
          }
        }
      }
    }
  }
  assert.ok(rejected > 100, `only ${rejected} rejections: the probes do not exercise the checks`);
});

test('worker-contracts: an ID number in sign_time and a phone in payload are in no reason and masked in safeCells', () => {
  const cells = { ...contract(5), sign_time: ID, payload: PHONE, memo: `+86 ${PHONE}` };
  const v = workerContracts.validate(cells);
  assert.equal(v.ok, false);
  if (!v.ok) {
    assert.deepEqual(v.errors, [{ field: 'sign_time', reason: 'not a real date-time: expected yyyy-MM-dd HH:mm:ss, got 18 characters of digits' }]);
  }
  const safe = workerContracts.safeCells(cells);
  assert.equal(safe['sign_time'], maskIdCard(ID));
  assert.equal(safe['payload'], maskPhone(PHONE));
  assert.equal(safe['memo'], `+86 ${maskPhone(PHONE)}`);
  const shown = JSON.stringify(safe);
  for (const secret of [ID, PHONE, contract(5).id_card, contract(5).phone, contract(5).real_name]) assert.ok(!shown.includes(secret), secret);
  // the rest of the row is shown as it is
  assert.equal(safe['sign_order_no'], cells.sign_order_no);
  assert.equal(safe['files'], cells.files);
});

test('borrow-entities: an ID number in any column is masked; phone numbers (business contacts here) are not', () => {
  const cells = { ...entity(2), entity_name: ID_X, entity_code: ` ${ID} `, contact_number: PHONE, upload_time: `+86${PHONE}` };
  const v = borrowEntities.validate(cells);
  assert.equal(v.ok, false);
  if (!v.ok) assert.ok(v.errors.every((e) => !e.reason.includes(PHONE)), JSON.stringify(v.errors));
  const safe = borrowEntities.safeCells(cells);
  assert.equal(safe['entity_name'], maskIdCard(ID_X));
  assert.equal(safe['entity_code'], ` ${maskIdCard(ID)} `);
  assert.equal(safe['contact_number'], PHONE);
  assert.equal(safe['upload_time'], `+86${PHONE}`);
  assert.equal(safe['address_desc'], entity(2)['address_desc']);
});

test('agreement datasets (a logon id is personal) mask a phone number in any column', () => {
  const cells = { personal_product_code: 'P', alipay_user_id: '2088101122675263', sign_scene: PHONE, external_agreement_no: ID };
  for (const ds of [agreementEffects, agreementQueries]) {
    const safe = ds.safeCells(cells);
    assert.equal(safe['sign_scene'], maskPhone(PHONE), ds.name);
    assert.equal(safe['external_agreement_no'], maskIdCard(ID), ds.name);
    assert.equal(safe['alipay_user_id'], '2088101122675263', ds.name); // 16 digits: neither shape
  }
});

test('look-alikes: the shapes of an ID number and of a mainland mobile, as whole values', () => {
  for (const v of [ID, ID_X, ID_X.toLowerCase(), ` ${ID}`, `${ID}\t`, '000000000000000000']) assert.equal(looksLikeIdCard(v), true, v);
  for (const v of [ID.slice(1), `${ID}1`, `${ID.slice(0, 17)}Y`, `x${ID}`, `${ID.slice(0, 9)} ${ID.slice(9)}`, '']) assert.equal(looksLikeIdCard(v), false, v);
  for (const v of [PHONE, '13000000000', '19912345678', `+86${PHONE}`, `86${PHONE}`, `+86 ${PHONE}`, `86-${PHONE}`, ` ${PHONE} `]) assert.equal(looksLikeMobile(v), true, v);
  for (const v of ['12012345678', '1381234567', `${PHONE}1`, `+87${PHONE}`, `+86  ${PHONE}`, '0571-26888888', '2088101122675263', `${PHONE}x`]) assert.equal(looksLikeMobile(v), false, v);
  assert.equal(maskLookAlike(ID, false), maskIdCard(ID));
  assert.equal(maskLookAlike(PHONE, false), PHONE);
  assert.equal(maskLookAlike(PHONE, true), maskPhone(PHONE));
  assert.equal(maskLookAlike(`86-${PHONE}`, true), `86-${maskPhone(PHONE)}`);
  assert.equal(maskLookAlike('爱心雨伞', true), '爱心雨伞');
});

test('checkJsonText says where the JSON breaks, never what is there', () => {
  assert.equal(checkJsonText(`电话${PHONE}`), 'must be valid JSON text (it has a character JSON does not allow there)');
  assert.equal(checkJsonText(`{"tel":`), 'must be valid JSON text (it ends too early)');
  assert.equal(checkJsonText(`{"tel":"${PHONE}`), 'must be valid JSON text (it breaks at character 20)');
  assert.equal(checkJsonText(`{"tel":1}${PHONE}`), 'must be valid JSON text (it breaks at character 10)');
  assert.equal(checkJsonText(`{"tel":"${PHONE}"}`), null);
});

test('header names that look like personal data (a file without a header) are masked in messages', async () => {
  const cols = workerContracts.fields.map((f) => f.name);
  assert.deepEqual(workerContracts.checkHeader([...cols, ID, PHONE, 'memo']).unknown, [maskIdCard(ID), maskPhone(PHONE), 'memo']);
  const borrowCols = borrowEntities.fields.map((f) => f.name);
  assert.deepEqual(borrowEntities.checkHeader([...borrowCols, ID, PHONE]).unknown, [maskIdCard(ID), PHONE]);

  const dir = tempDir();
  const dup = writeFile(dir, 'dup.csv', `${ID},${ID},x\n1,2,3\n`);
  await assert.rejects(async () => {
    for await (const _ of readCsv(dup)) void _;
  }, (err: unknown) => err instanceof SourceError && err.code === 'SYNC_SOURCE_HEADER' && !err.message.includes(ID) && err.message.includes(maskIdCard(ID)));
  // a bad quote in a row, under such a header: the column is named by its position
  const quoted = writeFile(dir, 'quoted.csv', `${ID},b\n1"x,2\n${PHONE}"y,3\n`);
  const errors: string[] = [];
  for await (const r of readCsv(quoted)) if ('error' in r) errors.push(r.error);
  assert.equal(errors.length, 2);
  assert.match(errors[0]!, /^cell 1 has a quote/);
  for (const e of errors) assert.ok(!e.includes(ID) && !e.includes(PHONE), e);
});
