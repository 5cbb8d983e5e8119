/** alipay.user.agreement.batch.query as the seed (002) describes it: a user's agreements for a product. */
import { BATCH_QUERY } from '../pages/index.js';
import { queryItemFields } from './agreement-fields.js';
import { NO_USER, str, tableProblem, userOf } from './agreement-requests.js';
import type { AgreementStore } from './agreement-store.js';
import { businessError, success, type MethodAnswer, type MethodContext, type SandboxMethod } from './types.js';

export class AgreementBatchQueryMethod implements SandboxMethod {
  readonly method = BATCH_QUERY.method;

  constructor(readonly store: AgreementStore) {}

  keyOf(biz: Record<string, unknown>): string | undefined {
    return str(biz.alipay_user_id) ?? str(biz.alipay_open_id) ?? str(biz.alipay_logon_id);
  }

  handle(ctx: MethodContext): MethodAnswer {
    const { biz } = ctx;
    const bad = tableProblem(BATCH_QUERY, biz);
    if (bad) return bad;
    const product = str(biz.personal_product_code) as string;
    const who = userOf(BATCH_QUERY, biz, ctx.behaviours);
    if (who === 'none') return businessError('INVALID_PARAMETER', '参数有误: alipay_user_id、alipay_open_id 与 alipay_logon_id 不可同时为空');
    if ('code' in who) return who;
    const held = this.store.forUser(who.user);
    // The sandbox knows users only through their agreements: no agreement at all means no such user.
    if (held.length === 0) return NO_USER(BATCH_QUERY);
    const scene = str(biz.sign_scene);
    const party = str(biz.third_party_type);
    // product_code (销售产品码) names the merchant's contract, which the sandbox does not model: not a filter here.
    const list = held
      .filter((r) => r.personal_product_code === product && (scene === undefined || r.sign_scene === scene) && (party === undefined || r.third_party_type === party))
      .map((r) => queryItemFields(r, ctx.behaviours?.openId === true));
    return success({ usage_agreement_info_list: list });
  }

  snapshot(): unknown {
    return this.store.all();
  }

  reset(): void {
    this.store.reset();
  }
}
