import { agreementEffects } from '../../sources/agreement-effects.js';
import { agreementQueries } from '../../sources/agreement-queries.js';
import { agreementQuery } from '../../sources/agreement-query.js';
import { borrowEntities } from '../../sources/borrow-entities.js';
import { workerContracts } from '../../sources/worker-contracts.js';
import type { AnswerRules } from '../../sources/dataset.js';
import { DEFAULT_ANSWERS } from '../../pipeline/alipay/classify.js';

export const BORROW = 'zhima.merchant.borrow.entity.upload';
export const WORKER = 'alipay.ins.scene.contract.workersaas.upload';
export const EFFECT = 'alipay.user.agreement.sign.effect';
export const QUERY = 'alipay.user.agreement.query';

/** The answer rules of a method, as its module in sources/ states them (a method none speaks: the protocol's alone). */
export function answersOf(method: string): AnswerRules {
  const found = [borrowEntities, workerContracts, agreementEffects, agreementQueries, agreementQuery].find((d) => d.method === method);
  return found?.answers ?? DEFAULT_ANSWERS;
}
