/**
 * 18-character identity numbers built on GB 11643 (公民身份号码): 17 digits and an ISO 7064 MOD 11-2 check
 * character. Three kinds share that shape, and all of them are checked here:
 *
 * - mainland resident ID (居民身份证): 6-digit region (a province code first), 8-digit birth date, 3-digit
 *   sequence, check character;
 * - residence permits for residents of Hong Kong, Macao and Taiwan (港澳台居民居住证, 2018): the same layout with
 *   the region fixed to 810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan);
 * - the 2023 foreign permanent resident ID (外国人永久居留身份证, issued from 2023-12-01 by the National Immigration
 *   Administration): first digit 9 (a foreigner: citizens' numbers start 1-8), digits 2-3 the mainland province
 *   where it was applied for, digits 4-6 the nationality as a number, digits 7-14 the birth date, 15-17 a sequence,
 *   and the check character computed exactly as for the resident ID (MOD 11-2).
 *
 * Reasons never repeat the number or its parts: they are personal data.
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK = '10X98765432';
/** Province-level codes of the mainland (the first two digits of a resident ID), and 71 (Taiwan) as GB/T 2260 lists it. */
const PROVINCES = new Set([
  11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54,
  61, 62, 63, 64, 65, 71,
]);
/** Where a foreign permanent resident ID can be applied for: a province of the mainland. */
const MAINLAND = new Set([...PROVINCES].filter((p) => p !== 71));
/** The regions of residence permits for Hong Kong, Macao and Taiwan residents: the whole 6 digits are fixed. */
const PERMIT_REGIONS = new Set(['810000', '820000', '830000']);

/** The check character the first 17 digits call for. */
export function idCardCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i]!;
  return CHECK[sum % 11]!;
}

/** Which kind of number the leading digits say it is. */
export type IdCardKind = 'resident' | 'hk-macao-taiwan-permit' | 'foreign-permanent-resident';

function regionReason(value: string): { kind: IdCardKind } | { reason: string } {
  if (value[0] === '9') {
    return MAINLAND.has(Number(value.slice(1, 3)))
      ? { kind: 'foreign-permanent-resident' }
      : { reason: 'the region code (digits 2-3) of a foreign permanent resident ID (first digit 9) is not a province of the mainland' };
  }
  const province = Number(value.slice(0, 2));
  if (province === 81 || province === 82 || province === 83) {
    return PERMIT_REGIONS.has(value.slice(0, 6))
      ? { kind: 'hk-macao-taiwan-permit' }
      : { reason: 'a Hong Kong, Macao or Taiwan residence permit number must start with 810000, 820000 or 830000' };
  }
  if (!PROVINCES.has(province)) return { reason: 'the region code (first two digits) is not a province of the mainland' };
  return { kind: 'resident' };
}

/** null when valid, else a reason that does not contain the number. `today` bounds the birth date. */
export function checkIdCard(value: string, today: Date = new Date()): string | null {
  if (value.length !== 18) return `must be 18 characters (17 digits and a check digit or X), not ${value.length}`;
  if (!/^\d{17}[\dXx]$/.test(value)) return 'must be 17 digits followed by a digit or X';
  const region = regionReason(value);
  if ('reason' in region) return region.reason;
  const y = Number(value.slice(6, 10));
  const m = Number(value.slice(10, 12));
  const d = Number(value.slice(12, 14));
  const birth = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || birth.getUTCFullYear() !== y || birth.getUTCMonth() !== m - 1 || birth.getUTCDate() !== d) {
    return 'the birth date (digits 7-14) is not a real date';
  }
  if (birth.getTime() > today.getTime()) return 'the birth date (digits 7-14) is in the future';
  const want = idCardCheckChar(value);
  const got = value[17]!.toUpperCase();
  if (got !== want) return `check digit should be ${want}`;
  return null;
}
