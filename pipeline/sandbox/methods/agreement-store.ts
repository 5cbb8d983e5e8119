/**
 * The one store of agreements that sign.effect, batch.query and agreement.query share: what one method changes
 * the others see, as on Alipay. It is seeded (agreement-seed.ts) since the sandbox has no page.sign to create
 * TEMP agreements with.
 *
 * An agreement the user cancelled (`unsign`, the admin endpoint's dut_user_unsign) is kept with status UNSIGN for
 * the record, and is gone for every method: Alipay answers USER_AGREEMENT_NOT_EXIST for it.
 */
import { beijingTimestamp } from '../../alipay/sign.js';
import { checkSeed, type SeedAgreement } from './agreement-seed.js';

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

/** What happens to an agreement after it is seeded: its status and times (no user, no logon id). */
export const AGREEMENT_STATE_FIELDS = ['status', 'valid_time', 'invalid_time', 'unsign_time', 'signed_invalid_time'] as const;
export type AgreementStateField = (typeof AGREEMENT_STATE_FIELDS)[number];

/** Alipay's agreements run "forever": a far-future end, as in its own examples. */
export const DEFAULT_INVALID_TIME = '2115-02-01 00:00:00';

/**
 * How a request names a user, once the method has settled which of its fields counts (agreement-requests.ts):
 * exactly one of the three.
 */
export type UserRef = { userId: string } | { openId: string } | { logonId: string };

/** Whether a record belongs to the user a user id or open id names (a logon id is resolved by forUser). */
function named(r: AgreementRecord, user: UserRef): boolean {
  if ('userId' in user) return r.alipay_user_id === user.userId;
  if ('openId' in user) return r.alipay_open_id === user.openId;
  return r.alipay_logon_id === user.logonId;
}

/** Two records of one user: the same user id, or the same open id (a user has one per app). */
function sameUser(a: AgreementRecord, b: AgreementRecord): boolean {
  return (a.alipay_user_id !== undefined && a.alipay_user_id === b.alipay_user_id)
    || (a.alipay_open_id !== undefined && a.alipay_open_id === b.alipay_open_id);
}

function toRecord(a: SeedAgreement, now: number): AgreementRecord {
  const r: AgreementRecord = {
    agreement_no: a.agreement_no,
    personal_product_code: a.personal_product_code,
    sign_scene: a.sign_scene,
    status: a.status,
    third_party_type: a.third_party_type || 'PARTNER',
    sign_time: a.sign_time || beijingTimestamp(now),
    // A TEMP agreement has never been effective, so it has no start yet; any other has one.
    valid_time: a.valid_time || (a.status === 'TEMP' ? '' : a.sign_time || beijingTimestamp(now)),
    invalid_time: a.invalid_time || DEFAULT_INVALID_TIME,
  };
  if (a.alipay_user_id) r.alipay_user_id = a.alipay_user_id;
  if (a.alipay_open_id) r.alipay_open_id = a.alipay_open_id;
  if (a.alipay_logon_id) r.alipay_logon_id = a.alipay_logon_id;
  if (a.external_agreement_no) r.external_agreement_no = a.external_agreement_no;
  if (a.external_logon_id) r.external_logon_id = a.external_logon_id;
  return r;
}

/** The agreements the methods work on. Everything handed out is a copy: only the store changes its records. */
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

  /** By the merchant's number within a scene, for a user (by user id, open id or logon id). */
  findExternal(externalNo: string, signScene: string, user: UserRef): AgreementRecord | undefined {
    for (const r of this.records.values()) {
      if (r.status === 'UNSIGN') continue;
      if (r.external_agreement_no !== externalNo || r.sign_scene !== signScene) continue;
      if (named(r, user)) return { ...r };
    }
    return undefined;
  }

  /**
   * A user's agreements, by user id or open id. A logon id names the user (like Alipay, which resolves it to the
   * account): every agreement of the user that any agreement with this logon id belongs to.
   */
  forUser(user: UserRef): AgreementRecord[] {
    const all = this.all().filter((r) => r.status !== 'UNSIGN');
    if (!('logonId' in user)) return all.filter((r) => named(r, user));
    const anchor = all.find((r) => named(r, user));
    return anchor === undefined ? [] : all.filter((r) => sameUser(anchor, r));
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
  update(agreementNo: string, change: Partial<Pick<AgreementRecord, AgreementStateField>>): AgreementRecord {
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
