/** The most events in any window of `windowMs` (a sliding one-second window: the ceiling a gateway's quota sees). */
export function maxInWindow(at: readonly number[], windowMs: number): number {
  const s = [...at].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < s.length; i++) {
    while (s[i]! - s[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}
