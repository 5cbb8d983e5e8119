/**
 * Reading a gateway answer. The signature covers the exact bytes of the `*_response` value as Alipay sent
 * them, so we locate that value in the raw body by scanning the top-level object (respecting strings and
 * escapes) instead of re-serialising parsed JSON, and instead of the SDKs' "cut at the last \"sign\"", which
 * breaks on certificate-mode bodies. A root key that appears twice is refused: JSON.parse would keep the last
 * one while a verifier may have looked at the first, which is how a forged answer slips past.
 */

export interface RawMember {
  key: string;
  /** raw JSON text of the value, exactly as in the body */
  raw: string;
}

export class ResponseShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResponseShapeError';
  }
}

function skipWs(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else break;
  }
  return i;
}

/** index just past the string that starts at s[i] === '"' */
function skipString(s: string, i: number): number {
  i++;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) i += 2; // backslash: skip the escaped character
    else if (c === 0x22) return i + 1;
    else i++;
  }
  throw new ResponseShapeError('unterminated string');
}

/** index just past the JSON value starting at s[i] */
function skipValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return skipString(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    while (i < s.length) {
      const ch = s[i];
      if (ch === '"') {
        i = skipString(s, i);
        continue;
      }
      if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    throw new ResponseShapeError('unbalanced brackets');
  }
  // number, true, false, null: up to the next delimiter
  let j = i;
  while (j < s.length && !',}] \n\r\t'.includes(s[j]!)) j++;
  if (j === i) throw new ResponseShapeError(`unexpected character at ${i}`);
  return j;
}

/** The members of the top-level JSON object, each with its raw value text. Throws on anything else. */
export function topLevelMembers(body: string): RawMember[] {
  let i = skipWs(body, 0);
  if (body[i] !== '{') throw new ResponseShapeError('not a JSON object');
  i = skipWs(body, i + 1);
  const out: RawMember[] = [];
  if (body[i] === '}') return out;
  for (;;) {
    if (body[i] !== '"') throw new ResponseShapeError(`expected a key at ${i}`);
    const keyEnd = skipString(body, i);
    const key = JSON.parse(body.slice(i, keyEnd)) as string;
    i = skipWs(body, keyEnd);
    if (body[i] !== ':') throw new ResponseShapeError(`expected ':' at ${i}`);
    i = skipWs(body, i + 1);
    const start = i;
    i = skipValue(body, i);
    out.push({ key, raw: body.slice(start, i) });
    i = skipWs(body, i);
    if (body[i] === ',') {
      i = skipWs(body, i + 1);
      continue;
    }
    if (body[i] === '}') break;
    throw new ResponseShapeError(`expected ',' or '}' at ${i}`);
  }
  if (skipWs(body, i + 1) !== body.length) throw new ResponseShapeError('text after the JSON object');
  return out;
}

export interface GatewayAnswer {
  /** which node carried the answer: `<method>_response` or `error_response` */
  node: string;
  /** the raw text of that node, which is what the signature covers */
  raw: string;
  /** the node's fields; empty when the node is encrypted */
  fields: Record<string, unknown>;
  /** content encryption (encrypt_type=AES): the node is a JSON string, this base64 ciphertext; else undefined */
  encrypted?: string;
  sign: string | undefined;
  certSn: string | undefined;
}

export function responseKeyFor(method: string): string {
  return method.replaceAll('.', '_') + '_response';
}

/** Split a gateway body into the answer node and its signature. Throws ResponseShapeError on any doubt. */
export function readAnswer(body: string, method: string): GatewayAnswer {
  const members = topLevelMembers(body);
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m.key)) throw new ResponseShapeError(`root key "${m.key}" appears twice`);
    seen.add(m.key);
  }
  const want = responseKeyFor(method);
  const node = members.find((m) => m.key === want) ?? members.find((m) => m.key === 'error_response');
  if (!node) throw new ResponseShapeError(`no ${want} in the answer`);
  const fields = JSON.parse(node.raw) as unknown;
  const encrypted = typeof fields === 'string' ? fields : undefined;
  if (encrypted === undefined && (fields === null || typeof fields !== 'object' || Array.isArray(fields))) {
    throw new ResponseShapeError(`${node.key} is neither an object nor an encrypted string`);
  }
  const signMember = members.find((m) => m.key === 'sign');
  const certMember = members.find((m) => m.key === 'alipay_cert_sn');
  const sign = signMember ? (JSON.parse(signMember.raw) as unknown) : undefined;
  const certSn = certMember ? (JSON.parse(certMember.raw) as unknown) : undefined;
  return {
    node: node.key,
    raw: node.raw,
    fields: encrypted === undefined ? (fields as Record<string, unknown>) : {},
    ...(encrypted === undefined ? {} : { encrypted }),
    sign: typeof sign === 'string' ? sign : undefined,
    certSn: typeof certSn === 'string' ? certSn : undefined,
  };
}
