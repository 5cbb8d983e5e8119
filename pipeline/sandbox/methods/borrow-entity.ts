import { borrowEntities } from '../../../sources/borrow-entities.js';
import { businessError, success, type MethodAnswer, type MethodContext, type SandboxMethod } from './types.js';

const PRODUCT_CODE = 'w1010100000000002858';

export interface StoredEntity {
  appId: string;
  category_code: string;
  entity_code: string;
  upload_time: string;
  biz: Record<string, unknown>;
  /** requests that carried this entity, whatever their snapshot */
  requests: number;
}

/**
 * zhima.merchant.borrow.entity.upload as Alipay documents it (seed 003): checks biz_content against the field
 * table (NULL_ARGUMENT, ILLEGAL_ARGUMENT, CATEGORY_CODE_ILLEGAL), refuses "sensitive" text
 * (INFOSEC_VERIFY_FAILED, triggered here by a configurable word), and keeps per (app, category_code,
 * entity_code) the snapshot with the newest upload_time.
 */
export class BorrowEntityMethod implements SandboxMethod {
  readonly method = borrowEntities.method;
  private readonly store = new Map<string, StoredEntity>();
  constructor(private readonly sensitiveWord = '敏感词') {}

  keyOf(biz: Record<string, unknown>): string | undefined {
    const c = biz.category_code;
    const e = biz.entity_code;
    return typeof c === 'string' && typeof e === 'string' ? `${c}/${e}` : undefined;
  }

  handle(ctx: MethodContext): MethodAnswer {
    const { biz } = ctx;
    for (const field of borrowEntities.fields) {
      const v = biz[field.name];
      if (v === undefined || v === null || v === '') {
        if (field.required) return businessError('NULL_ARGUMENT', `参数为空: ${field.name}`);
        continue;
      }
      if (typeof v !== 'string') return businessError('ILLEGAL_ARGUMENT', `参数格式非法: ${field.name} 应为字符串`);
      if ([...v].length > field.maxLength) return businessError('ILLEGAL_ARGUMENT', `参数长度非法: ${field.name}`);
      const why = field.check?.(v);
      if (why) {
        if (field.name === 'category_code') return businessError('CATEGORY_CODE_ILLEGAL', '类目code参数非法');
        return businessError('ILLEGAL_ARGUMENT', `参数格式非法: ${field.name}`);
      }
    }
    if (biz.product_code !== PRODUCT_CODE) return businessError('ILLEGAL_ARGUMENT', '参数格式非法: product_code');
    for (const name of ['entity_name', 'address_desc', 'rent_desc'] as const) {
      const v = biz[name];
      if (typeof v === 'string' && this.sensitiveWord && v.includes(this.sensitiveWord)) {
        return businessError('INFOSEC_VERIFY_FAILED', '信息含敏感内容');
      }
    }
    const category = biz.category_code as string;
    const entity = biz.entity_code as string;
    const uploadTime = biz.upload_time as string;
    const id = `${ctx.appId}\u0000${category}/${entity}`;
    const held = this.store.get(id);
    const requests = (held?.requests ?? 0) + 1;
    // Newest upload_time wins; an older snapshot is accepted (Alipay answers success) but does not replace it.
    if (!held || uploadTime >= held.upload_time) {
      this.store.set(id, { appId: ctx.appId, category_code: category, entity_code: entity, upload_time: uploadTime, biz, requests });
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
}
