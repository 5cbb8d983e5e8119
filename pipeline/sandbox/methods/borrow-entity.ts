import { BORROW_ENTITY_UPLOAD as PAGE, checkRequest, errorText } from '../pages/index.js';
import { businessError, success, type MethodAnswer, type MethodContext, type SandboxMethod } from './types.js';

export interface StoredEntity {
  appId: string;
  /** the merchant's user id ('' for the app's own calls) */
  merchant: string;
  category_code: string;
  entity_code: string;
  upload_time: string;
  biz: Record<string, unknown>;
  /** requests that carried this entity, whatever their snapshot */
  requests: number;
}

/**
 * zhima.merchant.borrow.entity.upload as its page (seed 003, transcribed in pages/borrow-entity-upload.ts)
 * describes it: a missing required field is NULL_ARGUMENT, a wrong length or format ILLEGAL_ARGUMENT, a category
 * outside the page's list CATEGORY_CODE_ILLEGAL; "sensitive" text (here a configurable word) is
 * INFOSEC_VERIFY_FAILED. Per (app, merchant, category_code, entity_code) it keeps the snapshot with the newest
 * upload_time: two merchants' entities with the same codes are two entities.
 */
export class BorrowEntityMethod implements SandboxMethod {
  readonly method = PAGE.method;
  private readonly store = new Map<string, StoredEntity>();
  constructor(private readonly sensitiveWord = '敏感词') {}

  keyOf(biz: Record<string, unknown>): string | undefined {
    const c = biz.category_code;
    const e = biz.entity_code;
    return typeof c === 'string' && typeof e === 'string' ? `${c}/${e}` : undefined;
  }

  handle(ctx: MethodContext): MethodAnswer {
    const { biz } = ctx;
    const bad = checkRequest(PAGE, biz);
    if (bad) {
      if (bad.problem === 'missing') return businessError('NULL_ARGUMENT', `${errorText(PAGE, 'NULL_ARGUMENT')}: ${bad.field}`);
      if (bad.field === 'category_code' && bad.problem === 'enum') return businessError('CATEGORY_CODE_ILLEGAL', errorText(PAGE, 'CATEGORY_CODE_ILLEGAL'));
      const what = bad.problem === 'length' ? '参数长度非法' : '参数格式非法';
      return businessError('ILLEGAL_ARGUMENT', `${what}: ${bad.field}`);
    }
    for (const name of ['entity_name', 'address_desc', 'rent_desc'] as const) {
      const v = biz[name];
      if (typeof v === 'string' && this.sensitiveWord && v.includes(this.sensitiveWord)) {
        return businessError('INFOSEC_VERIFY_FAILED', errorText(PAGE, 'INFOSEC_VERIFY_FAILED'));
      }
    }
    const category = biz.category_code as string;
    const entity = biz.entity_code as string;
    const uploadTime = biz.upload_time as string;
    const merchant = ctx.merchant ?? '';
    const id = `${ctx.appId}\u0000${merchant}\u0000${category}/${entity}`;
    const held = this.store.get(id);
    const requests = (held?.requests ?? 0) + 1;
    // Newest upload_time wins; an older snapshot is accepted (Alipay answers success) but does not replace it.
    if (!held || uploadTime >= held.upload_time) {
      this.store.set(id, { appId: ctx.appId, merchant, category_code: category, entity_code: entity, upload_time: uploadTime, biz, requests });
    } else {
      held.requests = requests;
    }
    return success();
  }

  entities(): StoredEntity[] {
    return [...this.store.values()];
  }

  snapshot(): unknown {
    return this.entities();
  }

  reset(): void {
    this.store.clear();
  }

  /** Hold these again (what an earlier session held: the demo keeps its "Alipay" between runs). */
  restore(held: readonly StoredEntity[]): void {
    for (const e of held) this.store.set(`${e.appId}\u0000${e.category_code}/${e.entity_code}`, { ...e });
  }
}
