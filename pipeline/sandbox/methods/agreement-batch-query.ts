/** alipay.user.agreement.batch.query as the seed (002) describes it: a user's agreements for a product. */
import { BATCH_QUERY } from '../pages/index.js';
import { queryItemFields } from './agreement-fields.js';
import { NO_USER, str, tableProblem, UNKNOWN_USER_PREFIX } from './agreement-requests.js';
import type { AgreementStore } from './agreement-store.js';
import { businessError, success, type MethodAnswer, type MethodContext, type SandboxMethod } from './types.js';

export class AgreementBatchQueryMethod implements SandboxMethod {
  readonly method = BATCH_QUERY.method;

  constructor(readonly store: AgreementStore) {}

  keyOf(biz: Record<string, unknown>): string | undefined {
    return str(biz.alipay_user_id) ?? str(biz.alipay_logon_id);
  }

  handle(ctx: MethodContext): MethodAnswer {
    const { biz } = ctx;
    const bad = tableProblem(BATCH_QUERY, biz);
    if (bad) return bad;
    const product = str(biz.personal_product_code) as string;
    const userId = str(biz.alipay_user_id);
    const logonId = str(biz.alipay_logon_id);
    if (!userId && !logonId) return businessError('INVALID_PARAMETER', '参数有误: alipay_user_id 与 alipay_logon_id 不可同时为空');
    if (userId?.startsWith(UNKNOWN_USER_PREFIX)) return NO_USER(BATCH_QUERY);
    const held = this.store.forUser(userId ? { userId } : { logonId: logonId as string });
    // The sandbox knows users only through their agreements: no agreement at all means no such user.
    if (held.length === 0) return NO_USER(BATCH_QUERY);
    const scene = str(biz.sign_scene);
    const party = str(biz.third_party_type);
    // product_code (销售产品码) names the merchant's contract, which the sandbox does not model: not a filter here.
    const list = held
      .filter((r) => r.personal_product_code === product && (scene === undefined || r.sign_scene === scene) && (party === undefined || r.third_party_type === party))
      .map(queryItemFields);
    return success({ usage_agreement_info_list: list });
  }

  snapshot(): unknown {
    return this.store.all();
  }

  reset(): void {
    this.store.reset();
  }
}
