/**
 * Mainland resident identity numbers (GB 11643): 6-digit region, 8-digit birth date, 3-digit sequence and an
 * ISO 7064 MOD 11-2 check character. Reasons never repeat the number or its parts: they are personal data.
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK = '10X98765432';
/** Province-level codes (the first two digits) in use. */
const PROVINCES = new Set([
  11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54,
  61, 62, 63, 64, 65, 71, 81, 82, 91,
]);

/** The check character the first 17 digits call for. */
export function idCardCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i]!;
  return CHECK[sum % 11]!;
}

/** null when valid, else a reason that does not contain the number. `today` bounds the birth date. */
export function checkIdCard(value: string, today: Date = new Date()): string | null {
  if (value.length !== 18) return `must be 18 characters (17 digits and a check digit or X), not ${value.length}`;
  if (!/^\d{17}[\dXx]$/.test(value)) return 'must be 17 digits followed by a digit or X';
  if (!PROVINCES.has(Number(value.slice(0, 2)))) return 'the region code (first two digits) is not a province of the mainland';
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
