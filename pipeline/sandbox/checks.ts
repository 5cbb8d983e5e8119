/**
 * The sandbox's own value checks: what the API pages (/work/shared/seeds) say a value must look like, written
 * independently of the client's rules in sources/ so that a wrong rule there cannot be accepted by both sides.
 * Every check returns null when the value is fine, else a short reason (English, for tests and logs; the
 * gateway's own sub_msg is built by the method from the page's error table).
 */

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function allDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (const c of s) if (!isDigit(c)) return false;
  return true;
}

/** Characters as the pages count them (Unicode code points). */
export function chars(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

function realDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] as number;
  return d <= days;
}

/** "格式为yyyy-MM-dd HH:mm:ss" (also 003's "yyyy-mm-dd hh:MM:ss", which means the same): a real calendar time. */
export function dateTime(v: string): string | null {
  const m = DATE_TIME.exec(v);
  if (!m) return 'not yyyy-MM-dd HH:mm:ss';
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (y < 1 || !realDate(y, mo, d)) return 'no such date';
  if (h > 23 || mi > 59 || s > 59) return 'no such time';
  return null;
}

/** A plain decimal ("83.66", "-5.87") within [min, max]: 003's 取值范围. */
export function decimalIn(min: number, max: number): (v: string) => string | null {
  return (v) => {
    if (!/^-?\d+(\.\d+)?$/.test(v)) return 'not a decimal number';
    const n = Number(v);
    return n >= min && n <= max ? null : `outside ${min}~${max}`;
  };
}

/** A count ("传1即可", "可借用的物品数量"): digits only. */
export function wholeNumber(v: string): string | null {
  return allDigits(v) ? null : 'not a whole number';
}

/**
 * 003 office_hours_desc: "格式:xx:xx-xx:xx,24小时制,如果是昼夜00:00—24:00", example "09:00—22:00". The page writes
 * the separator both as '-' and as '—' (its own example), so both are accepted; 24:00 only as an end.
 */
export function officeHours(v: string): string | null {
  const m = /^(\d{2}):(\d{2})[-—](\d{2}):(\d{2})$/.exec(v);
  if (!m) return 'not xx:xx-xx:xx';
  const [h1, m1, h2, m2] = m.slice(1).map(Number) as [number, number, number, number];
  if (h1 > 23 || m1 > 59 || m2 > 59 || h2 > 24 || (h2 === 24 && m2 !== 0)) return 'not a 24-hour time';
  return null;
}

/** 11 digits starting with 1: a mainland mobile number as the pages use it ("手机11位数字", example 13112345678). */
export function mobile(v: string): string | null {
  return v.length === 11 && allDigits(v) && v[0] === '1' && v[1] !== undefined && v[1] >= '3' ? null : 'not an 11-digit mobile number';
}

/**
 * 003 contact_number: "联系电话,手机11位数字,座机:区号-数字", example "0571-26888888": a mobile number, or an area code
 * (0 and 2-3 more digits) then '-' then the local number (7-8 digits). Nothing else: no '+86', spaces or brackets.
 */
export function contactNumber(v: string): string | null {
  if (mobile(v) === null) return null;
  return /^0\d{2,3}-\d{7,8}$/.test(v) ? null : 'neither an 11-digit mobile number nor 区号-数字';
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/**
 * 000 id_card "签约人身份证号": a mainland resident ID number (GB 11643): 17 digits, a real birth date at 7-14, and
 * the MOD 11-2 check character (a digit or X). The page's own example (330110202502101234) is a placeholder
 * whose check digit is wrong; a real number has a right one.
 */
export function idNumber(v: string, today: number = Date.now()): string | null {
  if (!/^\d{17}[\dXx]$/.test(v)) return 'not 17 digits and a digit or X';
  const y = Number(v.slice(6, 10));
  const m = Number(v.slice(10, 12));
  const d = Number(v.slice(12, 14));
  if (y < 1900 || !realDate(y, m, d)) return 'no such birth date';
  if (Date.UTC(y, m - 1, d) > today) return 'birth date in the future';
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(v[i]) * (ID_WEIGHTS[i] as number);
  return ID_CHECK[sum % 11] === v[17]!.toUpperCase() ? null : 'wrong check character';
}

/** 000 payload "透传参数", example "自定义json串": JSON text. */
export function jsonText(v: string): string | null {
  try {
    JSON.parse(v);
    return null;
  } catch {
    return 'not JSON text';
  }
}

/**
 * 000 files "灵工协议文件列表", example "自定义jsonArray字符串，元素属性fileName、fileUrl": a JSON array whose elements
 * are objects with fileName and fileUrl. The page asks for the field, not for elements: `[]` is a JSON array.
 */
export function fileList(v: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    return 'not JSON text';
  }
  if (!Array.isArray(parsed)) return 'not a JSON array';
  for (const f of parsed) {
    if (!f || typeof f !== 'object' || Array.isArray(f)) return 'an element is not an object';
    const o = f as Record<string, unknown>;
    if (typeof o.fileName !== 'string' || typeof o.fileUrl !== 'string') return 'an element lacks fileName or fileUrl';
  }
  return null;
}

/**
 * 001/002 alipay_user_id: "以2088开头的16位纯数字组成", in a field of 最大长度 32. Alipay has announced longer user ids
 * ("系统内部标识 userid 会进行升位扩展"), so 2088 and digits, at least the 16 of today and at most the field's 32.
 */
export function alipayUserId(v: string): string | null {
  return v.length >= 16 && v.length <= 32 && v.startsWith('2088') && allDigits(v) ? null : 'must be 2088 followed by digits, 16 to 32 in all';
}

/**
 * alipay_open_id (the SDK models of 001/002 and agreement.query; no seed carries it): the user's id within one app.
 * No page states its form; the SDK's example (074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5) is letters and digits,
 * so the sandbox refuses only what no id holds: whitespace and other invisible characters.
 */
export function openId(v: string): string | null {
  return /^[\x21-\x7e]+$/.test(v) ? null : 'not visible ASCII characters';
}

/** 001/002 alipay_logon_id: "支持邮箱或手机号码格式". */
export function logonId(v: string): string | null {
  if (mobile(v) === null) return null;
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) ? null : 'neither an email address nor a mobile number';
}

/** 001 external_agreement_no: "支持大写小写字母和数字,最长32位". */
export function letterDigits(v: string): string | null {
  return /^[A-Za-z0-9]+$/.test(v) ? null : 'not letters and digits only';
}
