/** alipay.user.agreement.sign.effect as the seed (001) describes it: a TEMP agreement turns NORMAL. */
import { beijingTimestamp } from '../../alipay/sign.js';
import { SIGN_EFFECT } from '../pages/index.js';
import { DEFAULT_SIGN_SCENE } from '../pages/sign-effect.js';
import { effectAnswerFields } from './agreement-fields.js';
import { fail, NO_USER, NOT_EXIST, str, tableProblem, userOf } from './agreement-requests.js';
import type { AgreementRecord, AgreementStore } from './agreement-store.js';
import { businessError, success, type MethodAnswer, type MethodContext, type SandboxMethod } from './types.js';

/**
 * sign_scene INDUSTRY|CONFLICT on an effect of an agreement that is already NORMAL gets
 * USER_AGREEMENT_PERIOD_CONFILICT, which Alipay answers when two effects race (also under the behaviour
 * effectAgainSucceeds, which otherwise answers a repeated effect with success): a magic value that lets tests
 * reach an answer real Alipay gives only in rare situations.
 */
export const CONFLICT_SCENE = 'INDUSTRY|CONFLICT';

/** Called when an agreement turns NORMAL, e.g. to send the dut_user_sign notification to the request's notify_url. */
export type EffectListener = (agreement: AgreementRecord, ctx: MethodContext) => void;

export class AgreementEffectMethod implements SandboxMethod {
  readonly method = SIGN_EFFECT.method;

  constructor(
    readonly store: AgreementStore,
    private readonly clock?: () => number,
    private readonly onEffective?: EffectListener,
  ) {}

  keyOf(biz: Record<string, unknown>): string | undefined {
    const no = str(biz.agreement_no);
    if (no) return no;
    const ext = str(biz.external_agreement_no);
    const scene = str(biz.sign_scene);
    return ext && scene ? `ext:${ext}|${scene}` : undefined;
  }

  handle(ctx: MethodContext): MethodAnswer {
    const { biz } = ctx;
    const found = this.find(biz, ctx);
    if ('code' in found) return found;
    const r = found.record;
    const openIdApp = ctx.behaviours?.openId === true;
    switch (r.status) {
      case 'STOP':
      case 'UNSIGN':
        return fail(SIGN_EFFECT, 'USER_AGREEMENT_STATUS_ABNORMAL');
      case 'NORMAL':
        if (str(biz.sign_scene) === CONFLICT_SCENE || !ctx.behaviours?.effectAgainSucceeds) {
          // A second effect of a live agreement. The page (001) has two candidates: USER_AGREEMENT_STATUS_ABNORMAL
          // ("协议状态不正常, 不允许协议生效操作", solution "协议可能已被暂停": a STOP agreement) and
          // USER_AGREEMENT_PERIOD_CONFILICT ("已存在的签约生效的协议的生效周期与本次请求不一致. 属于并发异常情况, 请检查商户端协议是否
          // 已生效"). Only the second speaks of an agreement that already exists as effective and tells the merchant to
          // check whether it is already effective, which is exactly the situation; NORMAL is not an abnormal status.
          // The SDK models (AlipayUserAgreementSignEffectResponse) say nothing more. So: PERIOD_CONFILICT.
          return fail(SIGN_EFFECT, 'USER_AGREEMENT_PERIOD_CONFILICT');
        }
        // behaviour effectAgainSucceeds: answered as it is, and nobody is told twice
        return success(effectAnswerFields(r, openIdApp));
      case 'TEMP': {
        const now = this.clock ? this.clock() : ctx.now;
        const live = this.store.update(r.agreement_no, { status: 'NORMAL', valid_time: beijingTimestamp(now) });
        this.onEffective?.(live, ctx);
        return success(effectAnswerFields(live, openIdApp));
      }
    }
  }

  /** The agreement a request names, or the business error Alipay would answer instead. */
  private find(biz: Record<string, unknown>, ctx: MethodContext): { record: AgreementRecord } | MethodAnswer {
    // "如果传了该参数,其他参数会被忽略": with agreement_no nothing else is looked at, not even the table's rules.
    const no = str(biz.agreement_no);
    if (no) {
      const r = this.store.live(no);
      return r ? { record: r } : NOT_EXIST();
    }
    const bad = tableProblem(SIGN_EFFECT, biz);
    if (bad) return bad;
    const ext = str(biz.external_agreement_no);
    const scene = str(biz.sign_scene);
    if (!ext) return businessError('INVALID_PARAMETER', '参数有误: agreement_no 与 external_agreement_no 不可同时为空');
    if (!scene || scene === DEFAULT_SIGN_SCENE) {
      return businessError('INVALID_PARAMETER', `参数有误: 传入 external_agreement_no 时 sign_scene 不能为空或 ${DEFAULT_SIGN_SCENE}`);
    }
    const who = userOf(SIGN_EFFECT, biz, ctx.behaviours);
    if (who === 'none') return businessError('INVALID_PARAMETER', '参数有误: alipay_user_id、alipay_open_id 与 alipay_logon_id 不可同时为空');
    if ('code' in who) return who;
    // The user id or open id wins over the logon id; a logon id nobody in the store has is a user Alipay does not know.
    const user = who.user;
    if ('logonId' in user && this.store.forUser(user).length === 0) return NO_USER();
    const r = this.store.findExternal(ext, scene, user);
    if (!r) return NOT_EXIST();
    const product = str(biz.personal_product_code);
    if (product !== undefined && product !== r.personal_product_code) {
      return businessError('PRODUCT_CODE_NOT_SUPPORTED_ERROR', '无效的个人产品码');
    }
    return { record: r };
  }

  snapshot(): unknown {
    return this.store.all();
  }

  reset(): void {
    this.store.reset();
  }
}
