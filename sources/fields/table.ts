import type { FieldSpec } from '../dataset.js';

/** A field table looked up by name, and whether it is about people (has a personal field). */
export interface Table {
  specs: ReadonlyMap<string, FieldSpec>;
  personal: boolean;
}

const tables = new WeakMap<readonly FieldSpec[], Table>();

export function tableOf(fields: readonly FieldSpec[]): Table {
  let t = tables.get(fields);
  if (t === undefined) {
    t = { specs: new Map(fields.map((f) => [f.name, f])), personal: fields.some((f) => f.personal === true) };
    tables.set(fields, t);
  }
  return t;
}
