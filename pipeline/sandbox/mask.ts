/**
 * How the sandbox masks a logon id in answers and notifications (the pages: "脱敏的支付宝账号", e.g.
 * test***ali@alipay.net). An email keeps its domain and the first two characters of its local part (one when the
 * local part is 2-3 characters, none when 1); a mobile number keeps 3 + 4 digits (138****5678); anything else is
 * all stars. The length is kept.
 */
export function maskLogon(value: string): string {
  const at = value.lastIndexOf('@');
  if (at > 0) {
    const local = [...value.slice(0, at)];
    const keep = local.length >= 4 ? 2 : local.length >= 2 ? 1 : 0;
    return local.slice(0, keep).join('') + '*'.repeat(local.length - keep) + value.slice(at);
  }
  if (/^1\d{10}$/.test(value)) return `${value.slice(0, 3)}****${value.slice(7)}`;
  return '*'.repeat([...value].length);
}
