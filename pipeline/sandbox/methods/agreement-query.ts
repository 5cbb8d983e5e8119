import { AGREEMENT_QUERY } from '../pages/index.js';
import { DEFAULT_SIGN_SCENE } from '../pages/sign-effect.js';
import { answerFields } from './agreement-fields.js';
import { fail, NOT_EXIST, str, tableProblem, userOf } from './agreement-requests.js';
import type { AgreementRecord, AgreementStore } from './agreement-store.js';
import { success, type MethodAnswer, type MethodContext, type SandboxMethod } from './types.js';

/**
 * alipay.user.agreement.query (pages/agreement-query.ts): one agreement, found by agreement_no alone; else by
 * personal_product_code + sign_scene + external_agreement_no; else by personal_product_code + the user
 * (alipay_user_id or alipay_open_id, as the app knows its users, else alipay_logon_id), narrowed by sign_scene and third_party_type when given (several left:
 * the most recently signed). Answers the agreement's fields as the SDKs' AlipayUserAgreementQueryResponse names
 * them; an agreement that cannot be found, cancelled ones included, is 40004 USER_AGREEMENT_NOT_EXIST.
 */
export class AgreementQueryMethod implements SandboxMethod {
  readonly method = AGREEMENT_QUERY.method;

  constructor(readonly store: AgreementStore) {}

  keyOf(biz: Record<string, unknown>): string | undefined {
    const no = str(biz.agreement_no);
    if (no) return no;
    const ext = str(biz.external_agreement_no);
    if (ext) return `ext:${ext}|${str(biz.sign_scene) ?? ''}`;
    return str(biz.alipay_user_id) ?? str(biz.alipay_open_id) ?? str(biz.alipay_logon_id);
  }

  handle(ctx: MethodContext): MethodAnswer {
    const { biz } = ctx;
    const openIdApp = ctx.behaviours?.openId === true;
    const no = str(biz.agreement_no);
    if (no) {
      const r = this.store.live(no);
      return r ? success(answerFields(AGREEMENT_QUERY, r, openIdApp)) : NOT_EXIST(AGREEMENT_QUERY);
    }
    const bad = tableProblem(AGREEMENT_QUERY, biz);
    if (bad) return bad;
    const product = str(biz.personal_product_code);
    if (!product) return fail(AGREEMENT_QUERY, 'INVALID_PARAMETER', 'agreement_no 为空时 personal_product_code 不能为空');
    const scene = str(biz.sign_scene);
    const party = str(biz.third_party_type);
    const ext = str(biz.external_agreement_no);
    const who = userOf(AGREEMENT_QUERY, biz, ctx.behaviours);
    if (typeof who === 'object' && 'code' in who) return who;
    let candidates: AgreementRecord[];
    if (ext) {
      if (!scene || scene === DEFAULT_SIGN_SCENE) {
        return fail(AGREEMENT_QUERY, 'INVALID_PARAMETER', `传入 external_agreement_no 时 sign_scene 不能为空或 ${DEFAULT_SIGN_SCENE}`);
      }
      candidates = this.store.all().filter((r) => r.status !== 'UNSIGN' && r.external_agreement_no === ext && r.sign_scene === scene);
      if (who !== 'none') {
        const mine = new Set(this.store.forUser(who.user).map((r) => r.agreement_no));
        candidates = candidates.filter((r) => mine.has(r.agreement_no));
      }
    } else {
      if (who === 'none') {
        return fail(AGREEMENT_QUERY, 'INVALID_PARAMETER', 'agreement_no、external_agreement_no、alipay_user_id、alipay_open_id 与 alipay_logon_id 不可同时为空');
      }
      candidates = this.store.forUser(who.user);
      if (scene) candidates = candidates.filter((r) => r.sign_scene === scene);
    }
    candidates = candidates.filter((r) => r.personal_product_code === product && (party === undefined || r.third_party_type === party));
    if (candidates.length === 0) return NOT_EXIST(AGREEMENT_QUERY);
    candidates.sort((a, b) => (a.sign_time < b.sign_time ? 1 : a.sign_time > b.sign_time ? -1 : 0));
    return success(answerFields(AGREEMENT_QUERY, candidates[0] as AgreementRecord, openIdApp));
  }

  snapshot(): unknown {
    return this.store.all();
  }

  reset(): void {
    this.store.reset();
  }
}
