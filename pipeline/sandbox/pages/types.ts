/**
 * An API page transcribed as data: the 请求参数 table (name, 是否必填, 最大长度, the values and format its 描述
 * states), the 响应参数 names, and the 业务错误码 table. The sandbox checks requests against these, never against
 * the client's own field tables in sources/ (issue 10: a rule shared by both sides can be wrong unnoticed).
 */
export interface PageField {
  name: string;
  /** 类型 as the page says */
  type: 'String' | 'Date' | 'Boolean';
  /** 是否必填: 是 / 必选 / 必须 */
  required: boolean;
  /** 最大长度 in characters; null where the page gives none */
  maxLength: number | null;
  /** the values the 描述 lists, where it lists them */
  enum?: readonly string[];
  /** the 描述's words that define the format, quoted */
  format?: string;
  /** the sandbox's own check of that format (checks.ts) */
  check?: (value: string) => string | null;
}

export interface PageError {
  /** 错误码 */
  code: string;
  /** 错误描述 */
  text: string;
}

export interface ApiPage {
  method: string;
  /** the seed file it is transcribed from ('' for a method the seeds do not carry) */
  source: string;
  request: readonly PageField[];
  /** 响应参数 names, in the page's order */
  response: readonly string[];
  errors: readonly PageError[];
}

/** What is wrong with a request's biz_content, by the page: the first field (in the page's order) at fault. */
export interface FieldProblem {
  field: string;
  problem: 'missing' | 'type' | 'length' | 'enum' | 'format';
  reason: string;
}

/** The `*_response` key of a method's answer: dots become underscores (the protocol's rule). */
export function responseKey(method: string): string {
  return `${method.replaceAll('.', '_')}_response`;
}

/** The 错误描述 of a code on this page (the page's words), or the code itself when the page has no such code. */
export function errorText(page: ApiPage, code: string): string {
  return page.errors.find((e) => e.code === code)?.text ?? code;
}

/** Check one value against one field of a page; null when the page accepts it. */
export function checkValue(field: PageField, value: unknown): FieldProblem | null {
  const at = (problem: FieldProblem['problem'], reason: string): FieldProblem => ({ field: field.name, problem, reason });
  if (value === undefined || value === null || value === '') return field.required ? at('missing', 'required') : null;
  if (typeof value !== 'string') return at('type', 'not a string');
  if (field.maxLength !== null && [...value].length > field.maxLength) return at('length', `longer than ${field.maxLength}`);
  if (field.enum && !field.enum.includes(value)) return at('enum', `not one of ${field.enum.join(', ')}`);
  const why = field.check?.(value);
  return why ? at('format', why) : null;
}

/** Check a whole biz_content against the page's request table: the first problem, or null. */
export function checkRequest(page: ApiPage, biz: Readonly<Record<string, unknown>>): FieldProblem | null {
  for (const f of page.request) {
    const p = checkValue(f, biz[f.name]);
    if (p) return p;
  }
  return null;
}

export function field(page: ApiPage, name: string): PageField {
  const f = page.request.find((x) => x.name === name);
  if (!f) throw new Error(`${page.method} has no request field ${name}`);
  return f;
}
