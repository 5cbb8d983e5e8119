import { agreementQuery } from '../../sources/agreement-query.js';
import { borrowEntities } from '../../sources/borrow-entities.js';
import type { AnswerRules } from '../../sources/dataset.js';
import { workerContracts } from '../../sources/worker-contracts.js';
import type { AlipayClient } from '../alipay/client.js';
import type { CheckResult } from './offline.js';

/**
 * `check --online`: one signed call that changes nothing, whose answer proves what no offline check can: the
 * gateway knows the app id, verified our signature with the app public key uploaded for it, let the app call the
 * method (permission), and signed an answer that verifies with --alipay-public-key. Any verified business answer
 * proves all four; which sub_code comes back only says what the gateway found.
 *
 * The probe, by default, is alipay.user.agreement.query for a user that cannot exist (2088000000000000): Alipay
 * looks for an agreement and finds none (USER_NOT_EXIST_ERROR, or USER_AGREEMENT_NOT_EXIST). With --dataset
 * borrow-entities or worker-contracts it is that dataset's own upload with no fields at all, which Alipay refuses
 * for the missing fields before storing anything (NULL_ARGUMENT, INVALID_PARAMETER): permission is proven for the
 * method the uploads use.
 */
interface Probe {
  method: string;
  biz: Record<string, string>;
  answers: AnswerRules;
  /** sub_codes that mean "looked, found nothing / refused the empty call": the expected answer */
  expected: readonly string[];
  /** what the call asks, and what the expected answer means, in words */
  asks: string;
  means: string;
}

const QUERY: Probe = {
  method: agreementQuery.method,
  biz: { alipay_user_id: '2088000000000000', personal_product_code: 'GENERAL_WITHHOLDING_P' },
  answers: agreementQuery.answers,
  expected: ['USER_NOT_EXIST_ERROR', 'USER_NOT_EXSIT_ERROR', 'USER_AGREEMENT_NOT_EXIST'],
  asks: 'for the agreement of a user that does not exist (2088000000000000)',
  means: 'Alipay looked and found no such user or agreement',
};

const EMPTY_UPLOAD = (method: string, answers: AnswerRules): Probe => ({
  method, biz: {}, answers, expected: ['NULL_ARGUMENT', 'ILLEGAL_ARGUMENT', 'INVALID_PARAMETER', 'isv.invalid-parameter', 'isv.missing-parameter'],
  asks: 'with no fields at all', means: 'Alipay refused it for a missing field, before storing anything',
});

export function probeFor(dataset: string | undefined): Probe {
  if (dataset === 'borrow-entities') return EMPTY_UPLOAD(borrowEntities.method, borrowEntities.answers);
  if (dataset === 'worker-contracts') return EMPTY_UPLOAD(workerContracts.method, workerContracts.answers);
  return QUERY;
}

/** How far the host clock may be from the gateway's before Alipay refuses timestamps (isv.invalid-timestamp). */
const REFUSED_SKEW_MS = 15 * 60_000;
const WARN_SKEW_MS = 2 * 60_000;

/** The probe's verdict, and the clock compared with the gateway's (its answer's Date header). */
export async function onlineChecks(
  client: AlipayClient, appId: string, dataset: string | undefined, now: () => number, verifiedWith = '--alipay-public-key',
): Promise<CheckResult[]> {
  const probe = probeFor(dataset);
  const sentAt = now();
  const res = await client.call(probe.method, JSON.stringify(probe.biz), { policy: probe.answers });
  const out: CheckResult[] = [];
  const call = `${probe.method} ${probe.asks}`;
  const trace = res.traceId ? ` [trace_id ${res.traceId}]` : '';
  const answered = [res.code, res.subCode].filter(Boolean).join(' ');
  if (res.verified && (res.kind === 'success' || res.kind === 'row-fatal' || res.kind === 'reconcile')) {
    const expected = res.kind === 'success' || (res.subCode !== undefined && probe.expected.some((s) => s.toLowerCase() === res.subCode!.toLowerCase()));
    out.push({
      check: 'gateway-call', status: 'ok',
      message: `${call} → ${answered}${expected ? `, as expected: ${probe.means}` : ` (${res.reason})`}${trace}. So the gateway knows app ${appId}, ` +
        `accepted our signature (${verifiedWith === '--alipay-public-key' ? 'the app public key' : 'the app certificate'} uploaded for it is the pair of --private-key), let the app call ${probe.method}, ` +
        `and signed an answer that verifies with ${verifiedWith}`,
    });
  } else {
    out.push({ check: 'gateway-call', status: 'fail', message: `${call}: ${explain(res.code, res.subCode, res.reason, verifiedWith)}${trace}` });
  }
  if (res.serverTime !== undefined) {
    // the Date header has whole seconds, and the answer took a while: compare with the middle of the call
    const skew = (sentAt + now()) / 2 - res.serverTime;
    const minutes = Math.abs(skew) / 60_000;
    const text = `the host clock is ${Math.abs(Math.round(skew / 1000))} s ${skew >= 0 ? 'ahead of' : 'behind'} the gateway's`;
    const status = Math.abs(skew) > REFUSED_SKEW_MS ? 'fail' : Math.abs(skew) > WARN_SKEW_MS ? 'warn' : 'ok';
    out.push({ check: 'clock-vs-gateway', status, message: status === 'ok' ? text : `${text} (${minutes.toFixed(1)} minutes): set the host clock (NTP); Alipay refuses timestamps far off (isv.invalid-timestamp)` });
  }
  return out;
}

/** What a failed probe means for the settings, in words a person acts on. */
function explain(code: string, subCode: string | undefined, reason: string, verifiedWith: string): string {
  const sub = (subCode ?? '').toLowerCase();
  if (code === 'UNVERIFIED') {
    return verifiedWith === '--alipay-public-key'
      ? 'the gateway answered, but its answer does not verify with --alipay-public-key: that is not the Alipay public key of this app (production and sandbox keys differ; it is not your app public key either)'
      : `the gateway answered, but its answer does not verify with ${verifiedWith}: ${reason}`;
  }
  if (sub === 'isv.invalid-signature') return `the gateway refused our signature (isv.invalid-signature): --private-key is not the pair of the ${verifiedWith === '--alipay-public-key' ? 'app public key' : 'app certificate'} uploaded for this app id in the Alipay console (or --sign-type differs)`;
  if (sub === 'isv.invalid-app-id') return 'the gateway does not know this app id (isv.invalid-app-id): check --app-id, and --gateway (a sandbox app id is unknown to production and the other way round)';
  if (code === '40006') return `the app may not call this method (${subCode ?? code}): sign the product or grant the API in the Alipay console`;
  if (code === '20001') return `the app_auth_token was refused (${subCode ?? code}): check --app-auth-token`;
  // check makes one call: a run would retry what has no answer, check does not
  const said = reason.replace('outcome unknown, will retry', 'no answer (check makes one call and does not retry: run it again once the gateway is reachable)');
  return `${said}${code ? ` [${[code, subCode].filter(Boolean).join(' ')}]` : ''}`;
}
