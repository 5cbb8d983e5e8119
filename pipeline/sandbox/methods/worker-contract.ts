import { checkRequest, errorText, WORKERSAAS_UPLOAD as PAGE } from '../pages/index.js';
import { businessError, success, type MethodAnswer, type MethodContext, type SandboxMethod } from './types.js';

export interface StoredContract {
  appId: string;
  sign_order_no: string;
  biz: Record<string, unknown>;
  requests: number;
}

/**
 * alipay.ins.scene.contract.workersaas.upload (seed 000, transcribed in pages/workersaas-upload.ts): field checks
 * by the page (INVALID_PARAMETER), one contract per
 * (app, sign_order_no), answers `biz_success`. Like a careless real server, its sub_msg repeats the offending
 * value, personal or not (a real_name with digits gets one): the client must keep such text out of logs and
 * the ledger. A payload carrying
 * `"sandbox":"biz_fail"` gets `biz_success: false`. With the behaviour noBizSuccess a success answer is just
 * {"code":"10000","msg":"Success"}, as the gateway sometimes answers.
 */
export class WorkerContractMethod implements SandboxMethod {
  readonly method = PAGE.method;
  private readonly store = new Map<string, StoredContract>();

  keyOf(biz: Record<string, unknown>): string | undefined {
    return typeof biz.sign_order_no === 'string' ? biz.sign_order_no : undefined;
  }

  handle(ctx: MethodContext): MethodAnswer {
    const { biz } = ctx;
    const bad = checkRequest(PAGE, biz);
    if (bad) {
      const text = errorText(PAGE, 'INVALID_PARAMETER');
      if (bad.problem === 'missing') return businessError('INVALID_PARAMETER', `${text}: ${bad.field} 不能为空`);
      return businessError('INVALID_PARAMETER', `${text}: ${bad.field}=${String(biz[bad.field])}`);
    }
    // Stricter than the field table (as real servers often are), and careless: it repeats personal values.
    if (/\d/.test(biz.real_name as string)) {
      return businessError('INVALID_PARAMETER', `参数有误: real_name=${String(biz.real_name)} 不能包含数字 (id_card=${String(biz.id_card)}, phone=${String(biz.phone)})`);
    }
    let bizFail = false;
    try {
      bizFail = (JSON.parse(biz.payload as string) as Record<string, unknown> | null)?.sandbox === 'biz_fail';
    } catch {
      // checked above
    }
    if (bizFail) return success({ biz_success: false });
    const id = `${ctx.appId}\u0000${ctx.merchant ?? ''}\u0000${biz.sign_order_no as string}`;
    const held = this.store.get(id);
    this.store.set(id, { appId: ctx.appId, sign_order_no: biz.sign_order_no as string, biz, requests: (held?.requests ?? 0) + 1 });
    return ctx.behaviours?.noBizSuccess ? success() : success({ biz_success: true });
  }

  contracts(): StoredContract[] {
    return [...this.store.values()];
  }

  snapshot(): unknown {
    return this.contracts();
  }

  reset(): void {
    this.store.clear();
  }

  /** Hold these again (what an earlier session held: the demo keeps its "Alipay" between runs). */
  restore(held: readonly StoredContract[]): void {
    for (const e of held) this.store.set(`${e.appId}\u0000${e.sign_order_no}`, { ...e });
  }
}
