/**
 * One call of POST /gateway.do, from the request's parameters to its answer: it is logged, its common parameters
 * checked (common-params.ts), held to the app's quota, given the fault the plan picks for it, and handled by its
 * method; the answer is signed with the algorithm the request was signed with (answers.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSignType, type SignType } from '../alipay/sign.js';
import type { AnswerWriter } from './answers.js';
import type { Behaviours } from './behaviours.js';
import { checkCommonParams } from './common-params.js';
import type { FaultPlan } from './faults.js';
import type { MethodAnswer, SandboxMethod } from './methods/types.js';
import type { LoggedRequest, SandboxOptions } from './options.js';
import { responseKey } from './pages/index.js';
import { proxyAnswer } from './proxy-pages.js';
import { merchantOf } from './merchants.js';
import type { CallQuota } from './quota.js';
import type { Timers } from './timers.js';

/** What a call needs of the gateway; every part is the gateway's own (shared, not copied). */
export interface GatewayCallSetup {
  appId: string;
  options: SandboxOptions;
  clock: () => number;
  methods: ReadonlyMap<string, SandboxMethod>;
  /** the request log, appended to */
  requests: LoggedRequest[];
  faults: FaultPlan;
  behaviours: Behaviours;
  answers: AnswerWriter;
  timers: Timers;
  /** the quotas (per second, per day; of the app and of each merchant) */
  quota: CallQuota;
  /** gateway calls so far (certificate mode rotates after options.rotateAfter of them) */
  calls: { count: number };
}

export function gatewayCall(setup: GatewayCallSetup, params: Record<string, string>, req: IncomingMessage, res: ServerResponse): void {
  const at = setup.clock();
  const method = params.method ?? '';
  const merchant = merchantOf(params);
  const log: LoggedRequest = { at, method, code: '', ...(merchant ? { merchant } : {}) };
  setup.requests.push(log);
  // Alipay rotates its certificate now and then: here once, after rotateAfter calls (this one is signed anew).
  const { certMode, rotateAfter } = setup.options;
  if (certMode && rotateAfter && ++setup.calls.count === rotateAfter + 1) certMode.rotate('next');
  const handler = setup.methods.get(method);
  const node = handler ? responseKey(method) : 'error_response';
  // Answers are signed with the algorithm the request was signed with (RSA: SHA1withRSA, RSA2: SHA256withRSA);
  // before the request's sign_type is known to be one of those, RSA2.
  const signType: SignType = isSignType(params.sign_type ?? '') ? (params.sign_type as SignType) : 'RSA2';
  const reply = (fields: MethodAnswer, opts: { signed?: boolean } = {}) => {
    log.code = fields.code;
    if (typeof fields.sub_code === 'string') log.subCode = fields.sub_code;
    log.traceId = setup.answers.write(res, node, fields, opts.signed ?? true, undefined, signType);
  };

  const checked = checkCommonParams(setup, params, at, handler !== undefined, signType);
  if ('refusal' in checked) return reply(checked.refusal, { signed: checked.signed });
  const { biz } = checked;
  if (!handler) return; // a method the gateway lacks was refused above
  if (checked.encrypted) log.encrypted = true;
  // Encrypted requests get encrypted answers; with encryptAllAnswers, every request of a method does.
  const contentKey = setup.options.contentKey;
  const sealWith = contentKey && !handler.unsigned && (checked.encrypted || setup.behaviours.encryptAllAnswers) ? contentKey : undefined;
  if (sealWith) log.answeredEncrypted = true;
  const key = handler.keyOf(biz);
  if (key !== undefined) log.key = key;

  const limited = setup.quota.active ? setup.quota.admit(at, merchant) : null;
  if (limited) {
    log.fault = 'limited';
    return reply(limited);
  }
  const fault = setup.faults.pick(params.biz_content ?? '');
  if (fault) log.fault = fault;
  switch (fault) {
    case 'unavailable':
      return reply({ code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error', sub_msg: '系统繁忙' });
    case 'limited':
      return reply({ code: '40005', msg: 'Call Limited', sub_code: 'isv.app-call-limited', sub_msg: '应用调用次数超限' });
    case 'system_error':
      return reply({ code: '40004', msg: 'Business Failed', sub_code: 'SYSTEM_ERROR', sub_msg: '系统繁忙' });
    case 'gbk_error':
      log.code = '20000';
      log.subCode = 'isp.unknow-error';
      log.traceId = setup.answers.write(res, node, { code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error', sub_msg: '系统繁忙' }, true, fault, signType);
      return;
    case 'invalid_parameter': {
      // A field of this request, by name: the first one that carries a value.
      const named = Object.keys(biz).find((k) => biz[k] !== undefined && biz[k] !== null && biz[k] !== '') ?? 'biz_content';
      return reply({ code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-parameter', sub_msg: `参数无效: ${named}` });
    }
    case 'http502':
      log.code = 'HTTP_502';
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body>502 Bad Gateway</body></html>');
      return;
    case 'http403':
    case 'http407':
    case 'http408':
    case 'http413':
    case 'http429':
    case 'html200':
      return proxyAnswer(res, fault, log);
    case 'drop':
      log.code = 'DROPPED';
      req.socket.destroy();
      return;
    default:
      break;
  }
  const fields = handler.handle({ appId: setup.appId, merchant, biz, params, now: at, behaviours: setup.behaviours });
  log.code = fields.code;
  if (typeof fields.sub_code === 'string') log.subCode = fields.sub_code;
  const signed = !handler.unsigned;
  if (fault === 'slow') {
    setup.timers.after(setup.faults.slowMs, () => {
      if (!res.destroyed) log.traceId = setup.answers.write(res, node, fields, signed, undefined, signType, sealWith);
    });
    return;
  }
  log.traceId = setup.answers.write(res, node, fields, signed, fault ?? undefined, signType, sealWith);
}
