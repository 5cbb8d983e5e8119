/** The biz_content JSON text of a row, built per row without JSON.stringify of an object. */
import type { FieldSpec } from '../dataset.js';
import type { FieldValues } from './validate.js';

/** JSON string literal; plain text (the common case) is quoted as is, without JSON.stringify's work. */
function jsonString(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    // Control characters, quote, backslash and surrogates (a lone one must be escaped) need care.
    if (c < 0x20 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(v);
  }
  return `"${v}"`;
}

const quotedKeys = new WeakMap<readonly FieldSpec[], string[]>();

/**
 * biz_content JSON text: keys in field-table order (stable text makes identical rows compare equal
 * and keeps requests readable), absent optional fields left out rather than sent as "" (the gateway
 * may treat "" as a value and reject or store it), every value a string as the API declares.
 * Built as text because it runs per row, and is about twice as fast as JSON.stringify of an object.
 */
export function buildBizContent(fields: readonly FieldSpec[], values: Readonly<FieldValues>): string {
  let keys = quotedKeys.get(fields);
  if (keys === undefined) {
    keys = fields.map((f) => `${JSON.stringify(f.name)}:`);
    quotedKeys.set(fields, keys);
  }
  let out = '';
  for (let i = 0; i < fields.length; i++) {
    const v = values[(fields[i] as FieldSpec).name];
    if (v === undefined || v === '') continue;
    out += (out === '' ? '{' : ',') + (keys[i] as string) + jsonString(v);
  }
  if (out === '') return '{}';
  const text = `${out}}`;
  // Concatenation leaves a tree of ~30 string pieces per row; rows wait in a batch for the ledger, so every
  // piece survived garbage collections and was copied and promoted (GC was a fifth of staging). Converting the
  // text to a number makes V8 flatten it into one string; the number itself is thrown away.
  void Number(text);
  return text;
}
