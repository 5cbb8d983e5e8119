/** How an agreement appears in the answers: the fields each page's 响应参数 lists, in its order. */
import { maskLogon as maskLogonId } from '../mask.js';
import { SIGN_EFFECT, type ApiPage } from '../pages/index.js';
import type { AgreementRecord } from './agreement-store.js';

/** Drop empty values: Alipay leaves absent fields out of its JSON rather than sending "". */
function compact(fields: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

/**
 * Who the principal is, as the app may know it: principal_id (the 2088 user id), or for an app on OpenID
 * principal_open_id (the SDKs' response models have both; such an app is never told user ids).
 */
function principal(r: AgreementRecord, openIdApp: boolean): { principal_id?: string; principal_open_id?: string } {
  return openIdApp ? { principal_open_id: r.alipay_open_id } : { principal_id: r.alipay_user_id };
}

/** The 响应参数 of sign.effect (seed 001), in its order. The logon id only ever leaves masked. */
export function effectAnswerFields(r: AgreementRecord, openIdApp = false): Record<string, string> {
  return answerFields(SIGN_EFFECT, r, openIdApp);
}

/** The answer fields of a page that describes one agreement (sign.effect, agreement.query), in the page's order. */
export function answerFields(page: ApiPage, r: AgreementRecord, openIdApp = false): Record<string, string> {
  const all = compact({
    alipay_logon_id: r.alipay_logon_id && maskLogonId(r.alipay_logon_id),
    valid_time: r.valid_time,
    invalid_time: r.invalid_time,
    pricipal_type: 'CARD',
    ...principal(r, openIdApp),
    sign_time: r.sign_time,
    sign_scene: r.sign_scene,
    agreement_no: r.agreement_no,
    third_party_type: r.third_party_type,
    status: r.status,
    personal_product_code: r.personal_product_code,
    external_agreement_no: r.external_agreement_no,
    external_logon_id: r.external_logon_id,
  });
  const out: Record<string, string> = {};
  for (const name of page.response) if (all[name] !== undefined) out[name] = all[name];
  return out;
}

/** One usage_agreement_info_list item of batch.query (seed 002; BATCH_QUERY_ITEM), in its order. */
export function queryItemFields(r: AgreementRecord, openIdApp = false): Record<string, string> {
  const who = principal(r, openIdApp);
  return compact({
    valid_time: r.valid_time,
    invalid_time: r.invalid_time,
    pricipal_type: 'CARD',
    principal_id: who.principal_id,
    sign_scene: r.sign_scene,
    agreement_no: r.agreement_no,
    third_party_type: r.third_party_type,
    status: r.status,
    sign_time: r.sign_time,
    personal_product_code: r.personal_product_code,
    principal_open_id: who.principal_open_id,
  });
}
