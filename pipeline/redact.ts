import type { Dataset } from '../sources/dataset.js';
import { maskPersonal } from '../sources/mask.js';

/**
 * Gateway text (sub_msg, and reasons built from it) may repeat what we sent, personal values included: a
 * server's "参数有误: id_card=3301…" must not reach a log or the ledger in clear. For datasets with personal
 * fields, a row's personal values are taken from its request body and masked wherever they appear.
 */
export type Redactor = (text: string | undefined, bizContent: string) => string | undefined;

export function redactorFor(dataset: Dataset): Redactor {
  const personal = dataset.fields.filter((f) => f.personal).map((f) => f.name);
  if (personal.length === 0) return (text) => text;
  return (text, bizContent) => {
    if (!text) return text;
    let biz: Record<string, unknown>;
    try {
      biz = JSON.parse(bizContent) as Record<string, unknown>;
    } catch {
      return text;
    }
    let out = text;
    for (const field of personal) {
      const v = biz[field];
      // one-character values (a one-character name) would mask every occurrence of that character: still right
      if (typeof v === 'string' && v !== '') out = out.split(v).join(maskPersonal(field, v));
    }
    return out;
  };
}

export function hasPersonalData(dataset: Dataset): boolean {
  return dataset.fields.some((f) => f.personal);
}
