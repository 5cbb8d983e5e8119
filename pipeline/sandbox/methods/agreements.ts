/**
 * alipay.user.agreement.sign.effect and alipay.user.agreement.batch.query as the seeds (001, 002) describe
 * them, over one store of agreements both share: what one method changes the other sees, as on Alipay.
 *
 * The store is seeded (tests, `sandbox --agreements <json>`) since the sandbox has no page.sign to create
 * TEMP agreements with. Magic values let tests reach answers real Alipay gives only in rare situations:
 *   - an alipay_user_id starting with 2088000000 is a user Alipay does not know (USER_NOT_EXIST_ERROR);
 *   - sign_scene INDUSTRY|CONFLICT on an effect of an agreement that is already NORMAL gets
 *     USER_AGREEMENT_PERIOD_CONFILICT, which Alipay answers when two effects race (also under the behaviour
 *     effectAgainSucceeds, which otherwise answers a repeated effect with success).
 * An agreement the user cancelled (`unsign`, the admin endpoint's dut_user_unsign) is kept with status UNSIGN for
 * the record, and is gone for every method: Alipay answers USER_AGREEMENT_NOT_EXIST for it.
 */
import { beijingTimestamp } from '../../alipay/sign.js';
import { alipayUserId as checkAlipayUserId, dateTime as isDateTime } from '../checks.js';
import { maskLogon as maskLogonId } from '../mask.js';
import { AGREEMENT_QUERY, BATCH_QUERY, checkRequest, errorText, SIGN_EFFECT, type ApiPage } from '../pages/index.js';
import { DEFAULT_SIGN_SCENE } from '../pages/sign-effect.js';
import { businessError, success, type MethodAnswer, type MethodContext, type SandboxMethod } from './types.js';

/** The page's statuses (TEMP, NORMAL, STOP); UNSIGN only for an agreement the user cancelled (never seeded). */
export type AgreementStatus = 'TEMP' | 'NORMAL' | 'STOP' | 'UNSIGN';

export interface SeedAgreement {
  agreement_no: string;
  alipay_user_id: string;
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

/** An agreement as the store holds it: the seed with Alipay's defaults filled in. */
export interface AgreementRecord extends SeedAgreement {
  /** "默认为PARTNER" */
  third_party_type: string;
  sign_time: string;
  /** '' while TEMP and never effective ("协议未生效过") */
  valid_time: string;
  invalid_time: string;
  /** when the user cancelled it (status UNSIGN) */
  unsign_time?: string;
  /** its invalid_time while it was live, kept when it is cancelled */
  signed_invalid_time?: string;
}

export const UNKNOWN_USER_PREFIX = '2088000000';
export const CONFLICT_SCENE = 'INDUSTRY|CONFLICT';
/** Alipay's agreements run "forever": a far-future end, as in its own examples. */
export const DEFAULT_INVALID_TIME = '2115-02-01 00:00:00';

const STATUSES: readonly string[] = ['TEMP', 'NORMAL', 'STOP'];
const SEED_KEYS = new Set([
  'agreement_no', 'alipay_user_id', 'alipay_logon_id', 'personal_product_code', 'sign_scene', 'status',
  'external_agreement_no', 'external_logon_id', 'third_party_type', 'sign_time', 'valid_time', 'invalid_time',
]);
const REQUIRED_KEYS = ['agreement_no', 'alipay_user_id', 'personal_product_code', 'sign_scene', 'status'] as const;
const TIME_KEYS = ['sign_time', 'valid_time', 'invalid_time'] as const;

/** The external number is unique per merchant within a scene, for a user: that triple finds one agreement. */
function externalId(r: { external_agreement_no?: string; sign_scene: string; alipay_user_id: string }): string | undefined {
  return r.external_agreement_no ? `${r.alipay_user_id}\u0000${r.sign_scene}\u0000${r.external_agreement_no}` : undefined;
}

/**
 * Check seed entries and say exactly what is wrong with which one. Messages name an entry by its index and
 * agreement_no, never by its logon id (seed files are written from real exports often enough).
 */
function checkSeed(items: readonly unknown[]): SeedAgreement[] {
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
    const badUser = checkAlipayUserId(a.alipay_user_id);
    if (badUser) throw new Error(`${named}: alipay_user_id ${badUser}`);
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

function toRecord(a: SeedAgreement, now: number): AgreementRecord {
  const r: AgreementRecord = {
    agreement_no: a.agreement_no,
    alipay_user_id: a.alipay_user_id,
    personal_product_code: a.personal_product_code,
    sign_scene: a.sign_scene,
    status: a.status,
    third_party_type: a.third_party_type || 'PARTNER',
    sign_time: a.sign_time || beijingTimestamp(now),
    // A TEMP agreement has never been effective, so it has no start yet; any other has one.
    valid_time: a.valid_time || (a.status === 'TEMP' ? '' : a.sign_time || beijingTimestamp(now)),
    invalid_time: a.invalid_time || DEFAULT_INVALID_TIME,
  };
  if (a.alipay_logon_id) r.alipay_logon_id = a.alipay_logon_id;
  if (a.external_agreement_no) r.external_agreement_no = a.external_agreement_no;
  if (a.external_logon_id) r.external_logon_id = a.external_logon_id;
  return r;
}

/** The agreements both methods work on. Everything handed out is a copy: only the store changes its records. */
export class AgreementStore {
  private readonly seed: SeedAgreement[];
  private readonly records = new Map<string, AgreementRecord>();

  constructor(seed: SeedAgreement[] = [], private readonly clock: () => number = Date.now) {
    this.seed = checkSeed(seed);
    this.reset();
  }

  all(): AgreementRecord[] {
    return [...this.records.values()].map((r) => ({ ...r }));
  }

  get(agreementNo: string): AgreementRecord | undefined {
    const r = this.records.get(agreementNo);
    return r && { ...r };
  }

  /** By the merchant's number within a scene, for a user (given by id, else by logon id). */
  findExternal(externalNo: string, signScene: string, user: { userId?: string; logonId?: string }): AgreementRecord | undefined {
    for (const r of this.records.values()) {
      if (r.status === 'UNSIGN') continue;
      if (r.external_agreement_no !== externalNo || r.sign_scene !== signScene) continue;
      if (user.userId !== undefined ? r.alipay_user_id === user.userId : r.alipay_logon_id === user.logonId) return { ...r };
    }
    return undefined;
  }

  /**
   * A user's agreements. A logon id names the user (like Alipay, which resolves it to the account): every
   * agreement of the user id that any agreement with this logon id belongs to.
   */
  forUser(user: { userId?: string; logonId?: string }): AgreementRecord[] {
    const all = this.all().filter((r) => r.status !== 'UNSIGN');
    const userId = user.userId ?? all.find((r) => r.alipay_logon_id !== undefined && r.alipay_logon_id === user.logonId)?.alipay_user_id;
    return userId === undefined ? [] : all.filter((r) => r.alipay_user_id === userId);
  }

  /** Add or replace one agreement (tests stage situations with it). */
  set(agreement: SeedAgreement): AgreementRecord {
    const [checked] = checkSeed([agreement]);
    const r = toRecord(checked as SeedAgreement, this.clock());
    this.records.set(r.agreement_no, r);
    return { ...r };
  }

  /** An agreement the methods can see: held, and not cancelled by its user. */
  live(agreementNo: string): AgreementRecord | undefined {
    const r = this.records.get(agreementNo);
    return r && r.status !== 'UNSIGN' ? { ...r } : undefined;
  }

  /** The user cancels the agreement (解约): status UNSIGN, invalid from now. Throws for one the store does not hold. */
  unsign(agreementNo: string, now: number = this.clock()): AgreementRecord {
    const r = this.records.get(agreementNo);
    if (!r) throw new Error(`no agreement ${agreementNo} in the sandbox store`);
    if (r.status !== 'UNSIGN') {
      Object.assign(r, { status: 'UNSIGN', signed_invalid_time: r.invalid_time, invalid_time: beijingTimestamp(now), unsign_time: beijingTimestamp(now) });
    }
    return { ...r };
  }

  /** Change an agreement's state, e.g. TEMP → NORMAL; throws for an agreement the store does not hold. */
  update(agreementNo: string, change: Partial<Pick<AgreementRecord, 'status' | 'valid_time' | 'invalid_time'>>): AgreementRecord {
    const r = this.records.get(agreementNo);
    if (!r) throw new Error(`no agreement ${agreementNo} in the sandbox store`);
    Object.assign(r, change);
    return { ...r };
  }

  /** Back to the seed: what `/_sandbox/reset` means for a seeded store. */
  reset(): void {
    this.records.clear();
    const now = this.clock();
    for (const a of this.seed) this.records.set(a.agreement_no, toRecord(a, now));
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Drop empty values: Alipay leaves absent fields out of its JSON rather than sending "". */
function compact(fields: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

/** The 响应参数 of sign.effect (seed 001), in its order. The logon id only ever leaves masked. */
export function effectAnswerFields(r: AgreementRecord): Record<string, string> {
  return answerFields(SIGN_EFFECT, r);
}

/** The answer fields of a page that describes one agreement (sign.effect, agreement.query), in the page's order. */
function answerFields(page: ApiPage, r: AgreementRecord): Record<string, string> {
  const all = compact({
    alipay_logon_id: r.alipay_logon_id && maskLogonId(r.alipay_logon_id),
    valid_time: r.valid_time,
    invalid_time: r.invalid_time,
    pricipal_type: 'CARD',
    principal_id: r.alipay_user_id,
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

/** One usage_agreement_info_list item of batch.query (seed 002), in its order. */
export function queryItemFields(r: AgreementRecord): Record<string, string> {
  return compact({
    valid_time: r.valid_time,
    invalid_time: r.invalid_time,
    pricipal_type: 'CARD',
    principal_id: r.alipay_user_id,
    sign_scene: r.sign_scene,
    agreement_no: r.agreement_no,
    third_party_type: r.third_party_type,
    status: r.status,
    sign_time: r.sign_time,
    personal_product_code: r.personal_product_code,
  });
}

const fail = (page: ApiPage, code: string, detail?: string) =>
  businessError(code, detail ? `${errorText(page, code)}: ${detail}` : errorText(page, code));
const NOT_EXIST = (page: ApiPage = SIGN_EFFECT) => fail(page, 'USER_AGREEMENT_NOT_EXIST');
const NO_USER = (page: ApiPage = SIGN_EFFECT) => fail(page, 'USER_NOT_EXIST_ERROR');

/** A field the page's table refuses (length, listed values, format) is INVALID_PARAMETER naming the field. */
function tableProblem(page: ApiPage, biz: Record<string, unknown>): MethodAnswer | undefined {
  const bad = checkRequest(page, biz);
  return bad ? fail(page, 'INVALID_PARAMETER', `${bad.field} ${bad.problem === 'missing' ? '不能为空' : '格式或长度非法'}`) : undefined;
}

/** Called when an agreement turns NORMAL, e.g. to send the dut_user_sign notification to the request's notify_url. */
export type EffectListener = (agreement: AgreementRecord, ctx: MethodContext) => void;

export class AgreementEffectMethod implements SandboxMethod {
  readonly method = SIGN_EFFECT.method;

  constructor(
    readonly store: AgreementStore,
    private readonly clock?: () => number,
    private readonly onEffective?: EffectListener,
  ) {}

  keyOf(biz: Record<string, unknown>): string | undefined {
    const no = str(biz.agreement_no);
    if (no) return no;
    const ext = str(biz.external_agreement_no);
    const scene = str(biz.sign_scene);
    return ext && scene ? `ext:${ext}|${scene}` : undefined;
  }

  handle(ctx: MethodContext): MethodAnswer {
    const { biz } = ctx;
    const found = this.find(biz);
    if ('code' in found) return found;
    const r = found.record;
    switch (r.status) {
      case 'STOP':
      case 'UNSIGN':
        return fail(SIGN_EFFECT, 'USER_AGREEMENT_STATUS_ABNORMAL');
      case 'NORMAL':
        if (str(biz.sign_scene) === CONFLICT_SCENE || !ctx.behaviours?.effectAgainSucceeds) {
          // A second effect of a live agreement. The page (001) has two candidates: USER_AGREEMENT_STATUS_ABNORMAL
          // ("协议状态不正常, 不允许协议生效操作", solution "协议可能已被暂停": a STOP agreement) and
          // USER_AGREEMENT_PERIOD_CONFILICT ("已存在的签约生效的协议的生效周期与本次请求不一致. 属于并发异常情况, 请检查商户端协议是否
          // 已生效"). Only the second speaks of an agreement that already exists as effective and tells the merchant to
          // check whether it is already effective, which is exactly the situation; NORMAL is not an abnormal status.
          // The SDK models (AlipayUserAgreementSignEffectResponse) say nothing more. So: PERIOD_CONFILICT.
          return fail(SIGN_EFFECT, 'USER_AGREEMENT_PERIOD_CONFILICT');
        }
        // behaviour effectAgainSucceeds: answered as it is, and nobody is told twice
        return success(effectAnswerFields(r));
      case 'TEMP': {
        const now = this.clock ? this.clock() : ctx.now;
        const live = this.store.update(r.agreement_no, { status: 'NORMAL', valid_time: beijingTimestamp(now) });
        this.onEffective?.(live, ctx);
        return success(effectAnswerFields(live));
      }
    }
  }

  /** The agreement a request names, or the business error Alipay would answer instead. */
  private find(biz: Record<string, unknown>): { record: AgreementRecord } | MethodAnswer {
    // "如果传了该参数,其他参数会被忽略": with agreement_no nothing else is looked at, not even the table's rules.
    const no = str(biz.agreement_no);
    if (no) {
      const r = this.store.live(no);
      return r ? { record: r } : NOT_EXIST();
    }
    const bad = tableProblem(SIGN_EFFECT, biz);
    if (bad) return bad;
    const ext = str(biz.external_agreement_no);
    const scene = str(biz.sign_scene);
    if (!ext) return businessError('INVALID_PARAMETER', '参数有误: agreement_no 与 external_agreement_no 不可同时为空');
    if (!scene || scene === DEFAULT_SIGN_SCENE) {
      return businessError('INVALID_PARAMETER', `参数有误: 传入 external_agreement_no 时 sign_scene 不能为空或 ${DEFAULT_SIGN_SCENE}`);
    }
    const userId = str(biz.alipay_user_id);
    const logonId = str(biz.alipay_logon_id);
    if (!userId && !logonId) return businessError('INVALID_PARAMETER', '参数有误: alipay_user_id 与 alipay_logon_id 不可同时为空');
    if (userId?.startsWith(UNKNOWN_USER_PREFIX)) return NO_USER();
    // The user id wins when both are given; a logon id nobody in the store has is a user Alipay does not know.
    const user = userId ? { userId } : { logonId: logonId as string };
    if (!userId && this.store.forUser(user).length === 0) return NO_USER();
    const r = this.store.findExternal(ext, scene, user);
    if (!r) return NOT_EXIST();
    const product = str(biz.personal_product_code);
    if (product !== undefined && product !== r.personal_product_code) {
      return businessError('PRODUCT_CODE_NOT_SUPPORTED_ERROR', '无效的个人产品码');
    }
    return { record: r };
  }

  snapshot(): unknown {
    return this.store.all();
  }

  reset(): void {
    this.store.reset();
  }
}

export class AgreementBatchQueryMethod implements SandboxMethod {
  readonly method = BATCH_QUERY.method;

  constructor(readonly store: AgreementStore) {}

  keyOf(biz: Record<string, unknown>): string | undefined {
    return str(biz.alipay_user_id) ?? str(biz.alipay_logon_id);
  }

  handle(ctx: MethodContext): MethodAnswer {
    const { biz } = ctx;
    const bad = tableProblem(BATCH_QUERY, biz);
    if (bad) return bad;
    const product = str(biz.personal_product_code) as string;
    const userId = str(biz.alipay_user_id);
    const logonId = str(biz.alipay_logon_id);
    if (!userId && !logonId) return businessError('INVALID_PARAMETER', '参数有误: alipay_user_id 与 alipay_logon_id 不可同时为空');
    if (userId?.startsWith(UNKNOWN_USER_PREFIX)) return NO_USER(BATCH_QUERY);
    const held = this.store.forUser(userId ? { userId } : { logonId: logonId as string });
    // The sandbox knows users only through their agreements: no agreement at all means no such user.
    if (held.length === 0) return NO_USER(BATCH_QUERY);
    const scene = str(biz.sign_scene);
    const party = str(biz.third_party_type);
    // product_code (销售产品码) names the merchant's contract, which the sandbox does not model: not a filter here.
    const list = held
      .filter((r) => r.personal_product_code === product && (scene === undefined || r.sign_scene === scene) && (party === undefined || r.third_party_type === party))
      .map(queryItemFields);
    return success({ usage_agreement_info_list: list });
  }

  snapshot(): unknown {
    return this.store.all();
  }

  reset(): void {
    this.store.reset();
  }
}

/**
 * alipay.user.agreement.query (pages/agreement-query.ts): one agreement, found by agreement_no alone; else by
 * personal_product_code + sign_scene + external_agreement_no; else by personal_product_code + the user
 * (alipay_user_id, else alipay_logon_id), narrowed by sign_scene and third_party_type when given (several left:
 * the most recently signed). Answers the agreement's fields as the SDKs' AlipayUserAgreementQueryResponse names
 * them; an agreement that cannot be found, cancelled ones included, is 40004 USER_AGREEMENT_NOT_EXIST.
 */
export class AgreementQueryMethod implements SandboxMethod {
  readonly method = AGREEMENT_QUERY.method;

  constructor(readonly store: AgreementStore) {}

  keyOf(biz: Record<string, unknown>): string | undefined {
    const no = str(biz.agreement_no);
    if (no) return no;
    const ext = str(biz.external_agreement_no);
    if (ext) return `ext:${ext}|${str(biz.sign_scene) ?? ''}`;
    return str(biz.alipay_user_id) ?? str(biz.alipay_logon_id);
  }

  handle(ctx: MethodContext): MethodAnswer {
    const { biz } = ctx;
    const no = str(biz.agreement_no);
    if (no) {
      const r = this.store.live(no);
      return r ? success(answerFields(AGREEMENT_QUERY, r)) : NOT_EXIST(AGREEMENT_QUERY);
    }
    const bad = tableProblem(AGREEMENT_QUERY, biz);
    if (bad) return bad;
    const product = str(biz.personal_product_code);
    if (!product) return fail(AGREEMENT_QUERY, 'INVALID_PARAMETER', 'agreement_no 为空时 personal_product_code 不能为空');
    const scene = str(biz.sign_scene);
    const party = str(biz.third_party_type);
    const ext = str(biz.external_agreement_no);
    const userId = str(biz.alipay_user_id);
    const logonId = str(biz.alipay_logon_id);
    let candidates: AgreementRecord[];
    if (ext) {
      if (!scene || scene === DEFAULT_SIGN_SCENE) {
        return fail(AGREEMENT_QUERY, 'INVALID_PARAMETER', `传入 external_agreement_no 时 sign_scene 不能为空或 ${DEFAULT_SIGN_SCENE}`);
      }
      candidates = this.store.all().filter((r) => r.status !== 'UNSIGN' && r.external_agreement_no === ext && r.sign_scene === scene);
      if (userId) candidates = candidates.filter((r) => r.alipay_user_id === userId);
      else if (logonId) candidates = candidates.filter((r) => r.alipay_logon_id === logonId);
    } else {
      if (!userId && !logonId) {
        return fail(AGREEMENT_QUERY, 'INVALID_PARAMETER', 'agreement_no、external_agreement_no、alipay_user_id 与 alipay_logon_id 不可同时为空');
      }
      candidates = this.store.forUser(userId ? { userId } : { logonId: logonId as string });
      if (scene) candidates = candidates.filter((r) => r.sign_scene === scene);
    }
    candidates = candidates.filter((r) => r.personal_product_code === product && (party === undefined || r.third_party_type === party));
    if (candidates.length === 0) return NOT_EXIST(AGREEMENT_QUERY);
    candidates.sort((a, b) => (a.sign_time < b.sign_time ? 1 : a.sign_time > b.sign_time ? -1 : 0));
    return success(answerFields(AGREEMENT_QUERY, candidates[0] as AgreementRecord));
  }

  snapshot(): unknown {
    return this.store.all();
  }

  reset(): void {
    this.store.reset();
  }
}
