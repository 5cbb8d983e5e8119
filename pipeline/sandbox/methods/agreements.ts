/**
 * The agreement methods, alipay.user.agreement.sign.effect and alipay.user.agreement.batch.query as the seeds
 * (001, 002) describe them and alipay.user.agreement.query (pages/agreement-query.ts), over one store of
 * agreements all share: what one method changes the others see, as on Alipay. One concept a file:
 *   - agreement-seed.ts: seed agreements and their checks (parseAgreementSeed);
 *   - agreement-store.ts: the store (AgreementStore), cancelled agreements included;
 *   - agreement-fields.ts: how an agreement appears in each page's answer;
 *   - agreement-requests.ts: reading a request, and the business errors the methods share;
 *   - agreement-effect.ts, agreement-batch-query.ts, agreement-query.ts: one method each.
 * This module is where the rest of the code imports them from.
 */
export { parseAgreementSeed, type AgreementStatus, type SeedAgreement } from './agreement-seed.js';
export { AGREEMENT_STATE_FIELDS, AgreementStore, DEFAULT_INVALID_TIME, type AgreementRecord, type AgreementStateField } from './agreement-store.js';
export { effectAnswerFields, queryItemFields } from './agreement-fields.js';
export { UNKNOWN_USER_PREFIX } from './agreement-requests.js';
export { AgreementEffectMethod, CONFLICT_SCENE, type EffectListener } from './agreement-effect.js';
export { AgreementBatchQueryMethod } from './agreement-batch-query.js';
export { AgreementQueryMethod } from './agreement-query.js';
