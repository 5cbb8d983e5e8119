/** Every API page the sandbox models, by method. */
import { AGREEMENT_QUERY } from './agreement-query.js';
import { ALIPAYCERT_DOWNLOAD } from './alipaycert-download.js';
import { BATCH_QUERY } from './batch-query.js';
import { BORROW_ENTITY_UPLOAD } from './borrow-entity-upload.js';
import { SIGN_EFFECT } from './sign-effect.js';
import type { ApiPage } from './types.js';
import { WORKERSAAS_UPLOAD } from './workersaas-upload.js';

export { AGREEMENT_QUERY, ALIPAYCERT_DOWNLOAD, BATCH_QUERY, BORROW_ENTITY_UPLOAD, SIGN_EFFECT, WORKERSAAS_UPLOAD };
export * from './types.js';

export const PAGES: ReadonlyMap<string, ApiPage> = new Map(
  [WORKERSAAS_UPLOAD, SIGN_EFFECT, BATCH_QUERY, BORROW_ENTITY_UPLOAD, AGREEMENT_QUERY, ALIPAYCERT_DOWNLOAD].map((p) => [p.method, p]),
);
