/**
 * A short, printable excerpt of a body that is not a gateway answer (an HTML error page, a proxy's refusal), for
 * the reason shown to a person. Such pages can echo the request, so anything shaped like personal data is masked:
 * ID numbers (18 characters, or 15+ digit runs), mainland mobile numbers and e-mail logon ids.
 */
export const EXCERPT_CHARS = 120;

function keepEnds(s: string, head: number, tail: number): string {
  if (s.length <= head + tail) return '*'.repeat(s.length);
  return s.slice(0, head) + '*'.repeat(s.length - head - tail) + s.slice(s.length - tail);
}

export function maskLookAlikes(text: string): string {
  return text
    .replace(/(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])/g, (m) => keepEnds(m, 4, 4))
    .replace(/(?<![0-9])1[3-9][0-9]{9}(?![0-9])/g, (m) => keepEnds(m, 3, 4))
    .replace(/(?<![0-9*])[0-9]{15,}(?![0-9])/g, (m) => keepEnds(m, 4, 4))
    .replace(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, (m) => {
      const at = m.indexOf('@');
      return m[0] + '*'.repeat(Math.max(at - 1, 0)) + m.slice(at);
    });
}

/** The first characters of `text` (white space collapsed, control characters dropped), masked. */
export function bodyExcerpt(text: string, max = EXCERPT_CHARS): string {
  // Mask a longer prefix first, so a number cut by the truncation is still recognised (masks keep the length).
  // eslint-disable-next-line no-control-regex -- dropping control characters is the point of this pattern
  const head = text.slice(0, max * 4).replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  const masked = maskLookAlikes(head);
  return masked.length > max ? masked.slice(0, max) + '…' : masked;
}
