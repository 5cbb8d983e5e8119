/**
 * The sources layer: reading CSV files and turning rows into uploads, dataset by dataset.
 * `datasets` is the registry the CLI resolves `upload <dataset>` against.
 */
import { borrowEntities } from './borrow-entities.js';
import { workerContracts } from './worker-contracts.js';
import { agreementEffects } from './agreement-effects.js';
import { agreementQueries } from './agreement-queries.js';
import type { Dataset } from './dataset.js';

export * from './errors.js';
export type * from './dataset.js';
export * from './fields.js';
export * from './mask.js';
export * from './csv.js';
export {
  borrowEntities, borrowEntitiesWith, BORROW_PRODUCT_CODE, BORROW_ENTITY_ANSWERS, checkContactNumber, checkOfficeHours, UPLOAD_TIME_SLACK_MS,
  type BorrowEntityOptions,
} from './borrow-entities.js';
export { workerContracts, checkMobile, checkJsonText, checkFiles, WORKER_CONTRACT_ANSWERS } from './worker-contracts.js';
export { checkIdCard, idCardCheckChar } from './id-card.js';
export { agreementEffects, AGREEMENT_FIELDS, AGREEMENT_EFFECT_ANSWERS, maskLogonId } from './agreement-effects.js';
export { checkAlipayUserId, checkOpenId, USER_COLUMNS } from './agreement-users.js';
export { agreementQueries, AGREEMENT_QUERIES_ANSWERS } from './agreement-queries.js';
export { agreementQuery, agreementStatus } from './agreement-query.js';

/** Datasets `upload <dataset>` takes: the CSV exports that change what Alipay holds. */
export const datasets: Record<string, Dataset> = { 'borrow-entities': borrowEntities, 'worker-contracts': workerContracts };

/** Datasets of the agreements commands (`agreements effect`, `agreements query`). */
export const agreementDatasets = { effect: agreementEffects, query: agreementQueries } as const;
