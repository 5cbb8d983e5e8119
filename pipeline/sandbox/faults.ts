/**
 * Fault injection for the sandbox gateway, so tests and benchmarks can exercise every branch of the client.
 * Decisions come from a seeded PRNG so a failing test can be replayed; `maxPerRequest` caps how many faults one
 * identical request can meet, which makes "retried to success" deterministic for a given --max-attempts.
 */
export type FaultKind =
  | 'unavailable' // 20000 isp.unknow-error (outcome unknown)
  | 'limited' // 40005 isv.app-call-limited
  | 'system_error' // 40004 SYSTEM_ERROR (per-API transient business code)
  | 'http502' // HTTP 502 from a "proxy"
  | 'drop' // the connection is destroyed without an answer
  | 'slow' // the answer comes after slowMs
  | 'tamper' // the answer is changed after it was signed
  | 'wrong_key' // the answer is signed with a key that is not Alipay's
  | 'unsigned' // a 10000 answer without sign
  | 'duplicate_key' // the *_response key appears twice in the body
  | 'gbk_error' // 20000 isp.unknow-error 系统繁忙, the body GBK-encoded (Content-Type text/html;charset=GBK), signed over its text
  | 'invalid_parameter' // 40002 isv.invalid-parameter 参数无效, sub_msg naming a field of the request: a problem of this row
  | 'http403' // HTTP 403 from a proxy or WAF, an HTML page
  | 'http407' // HTTP 407 Proxy Authentication Required (with Proxy-Authenticate)
  | 'http408' // HTTP 408 Request Timeout, connection closed
  | 'http413' // HTTP 413 Payload Too Large
  | 'http429' // HTTP 429 Too Many Requests (with Retry-After: 1)
  | 'html200' // HTTP 200 whose body is an HTML error page, not JSON
  | 'trickle' // the right answer, one byte every trickleMs
  | 'oversized'; // a 200 answer of oversizedBytes, valid-looking (and signed) JSON

/** Every kind, in the order the dice read them: new kinds go at the end, so a seed keeps picking what it picked. */
export const FAULT_KINDS: readonly FaultKind[] = [
  'unavailable', 'limited', 'system_error', 'http502', 'drop', 'slow', 'tamper', 'wrong_key', 'unsigned', 'duplicate_key',
  'gbk_error', 'invalid_parameter', 'http403', 'http407', 'http408', 'http413', 'http429', 'html200', 'trickle', 'oversized',
];

export interface FaultOptions {
  /** share of requests (0..1) meeting each fault; shares add up to at most 1 */
  rates?: Partial<Record<FaultKind, number>>;
  slowMs?: number;
  /** trickle: ms between two bytes of the answer (default 1000) */
  trickleMs?: number;
  /** oversized: the body's size in bytes (default 8 MiB) */
  oversizedBytes?: number;
  seed?: number;
  /** at most this many faults for one identical biz_content (default: no cap) */
  maxPerRequest?: number;
}

/** mulberry32: tiny, seedable, good enough to spread faults */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultPlan {
  private random: () => number;
  private readonly perRequest = new Map<string, number>();
  constructor(private options: FaultOptions = {}) {
    this.random = prng(options.seed ?? 1);
  }

  get slowMs(): number {
    return this.options.slowMs ?? 3000;
  }

  get trickleMs(): number {
    return this.options.trickleMs ?? 1000;
  }

  get oversizedBytes(): number {
    return this.options.oversizedBytes ?? 8 * 1024 * 1024;
  }

  set(options: FaultOptions): void {
    this.options = options;
    this.random = prng(options.seed ?? 1);
    this.perRequest.clear();
  }

  /** pick the fault (if any) for one request, identified by its biz_content */
  pick(requestId: string): FaultKind | null {
    const rates = this.options.rates;
    if (!rates) return null;
    const cap = this.options.maxPerRequest ?? Infinity;
    const seen = this.perRequest.get(requestId) ?? 0;
    if (seen >= cap) return null;
    const r = this.random();
    let acc = 0;
    for (const kind of FAULT_KINDS) {
      acc += rates[kind] ?? 0;
      if (r < acc) {
        this.perRequest.set(requestId, seen + 1);
        return kind;
      }
    }
    return null;
  }
}
