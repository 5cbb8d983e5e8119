/**
 * Seed agreements: what a test or `sandbox --agreements <json>` hands the store (agreement-store.ts), checked
 * entry by entry, since the sandbox has no page.sign to create TEMP agreements with.
 */
import { alipayUserId as checkAlipayUserId, dateTime as isDateTime, openId as checkOpenId } from '../checks.js';
import { DEFAULT_SIGN_SCENE } from '../pages/sign-effect.js';

/** The page's statuses (TEMP, NORMAL, STOP); UNSIGN only for an agreement the user cancelled (never seeded). */
export type AgreementStatus = 'TEMP' | 'NORMAL' | 'STOP' | 'UNSIGN';

/**
 * One agreement. Its user is named by alipay_user_id (2088…), alipay_open_id (the user's id within the sandbox's
 * app, for an app on OpenID) or both, as a real user has both; alipay_logon_id optionally.
 */
export interface SeedAgreement {
  agreement_no: string;
  alipay_user_id?: string;
  alipay_open_id?: string;
  alipay_logon_id?: string;
  personal_product_code: string;
  sign_scene: string;
  status: AgreementStatus;
  external_agreement_no?: string;
  /** "用户在商户网站的登录账号,如果商户接口中未传,则不会返回" */
  external_logon_id?: string;
  third_party_type?: string;
  sign_time?: string;
  valid_time?: string;
  invalid_time?: string;
}

const STATUSES: readonly string[] = ['TEMP', 'NORMAL', 'STOP'];
const SEED_KEYS = new Set([
  'agreement_no', 'alipay_user_id', 'alipay_open_id', 'alipay_logon_id', 'personal_product_code', 'sign_scene', 'status',
  'external_agreement_no', 'external_logon_id', 'third_party_type', 'sign_time', 'valid_time', 'invalid_time',
]);
const REQUIRED_KEYS = ['agreement_no', 'personal_product_code', 'sign_scene', 'status'] as const;
const TIME_KEYS = ['sign_time', 'valid_time', 'invalid_time'] as const;

/** The external number is unique per merchant within a scene, for a user: that triple finds one agreement. */
function externalId(r: SeedAgreement): string | undefined {
  const user = r.alipay_user_id ?? `open:${r.alipay_open_id ?? ''}`;
  return r.external_agreement_no ? `${user}\u0000${r.sign_scene}\u0000${r.external_agreement_no}` : undefined;
}

/**
 * Check seed entries and say exactly what is wrong with which one. Messages name an entry by its index and
 * agreement_no, never by its logon id (seed files are written from real exports often enough).
 */
export function checkSeed(items: readonly unknown[]): SeedAgreement[] {
  const out: SeedAgreement[] = [];
  const numbers = new Set<string>();
  const externals = new Set<string>();
  items.forEach((item, i) => {
    const at = `agreement seed [${i}]`;
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw new Error(`${at}: must be an object`);
    const o = item as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!SEED_KEYS.has(k)) throw new Error(`${at}: unknown field "${k}" (known: ${[...SEED_KEYS].join(', ')})`);
      if (o[k] !== undefined && typeof o[k] !== 'string') throw new Error(`${at}: ${k} must be a string`);
    }
    for (const k of REQUIRED_KEYS) if (!o[k]) throw new Error(`${at}: ${k} is required`);
    const a = o as unknown as SeedAgreement;
    const named = `${at} (agreement_no ${a.agreement_no})`;
    if (!STATUSES.includes(a.status)) throw new Error(`${named}: status must be one of ${STATUSES.join(', ')}`);
    if (!a.alipay_user_id && !a.alipay_open_id) throw new Error(`${named}: alipay_user_id or alipay_open_id is required`);
    const badUser = a.alipay_user_id ? checkAlipayUserId(a.alipay_user_id) : null;
    if (badUser) throw new Error(`${named}: alipay_user_id ${badUser}`);
    const badOpen = a.alipay_open_id ? checkOpenId(a.alipay_open_id) : null;
    if (badOpen || (a.alipay_open_id?.length ?? 0) > 128) throw new Error(`${named}: alipay_open_id ${badOpen ?? 'longer than 128'}`);
    if (a.sign_scene === DEFAULT_SIGN_SCENE && a.external_agreement_no) {
      throw new Error(`${named}: an agreement with external_agreement_no needs a sign_scene other than ${DEFAULT_SIGN_SCENE}`);
    }
    if (a.third_party_type && a.third_party_type !== 'PARTNER' && a.third_party_type !== 'MERCHANT') {
      throw new Error(`${named}: third_party_type must be PARTNER or MERCHANT`);
    }
    for (const k of TIME_KEYS) {
      const v = a[k];
      if (v && isDateTime(v) !== null) throw new Error(`${named}: ${k} must be a yyyy-MM-dd HH:mm:ss date-time`);
    }
    if (numbers.has(a.agreement_no)) throw new Error(`${named}: agreement_no appears twice`);
    numbers.add(a.agreement_no);
    const ext = externalId(a);
    if (ext !== undefined) {
      if (externals.has(ext)) throw new Error(`${named}: external_agreement_no + sign_scene appears twice for the same user`);
      externals.add(ext);
    }
    out.push({ ...a });
  });
  return out;
}

/** Read a seed file's text: a JSON array of agreements. Throws an Error saying what is wrong. */
export function parseAgreementSeed(json: string): SeedAgreement[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new Error(`agreement seed: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new Error('agreement seed: must be a JSON array of agreements');
  return checkSeed(parsed);
}

