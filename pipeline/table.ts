/**
 * Tables for people and for programs: fitTable() lays rows out in a terminal's width (columns left out by rank,
 * one column allowed to shrink, cells cut, never a wrapped line), tsv() writes the same rows tab-separated for a
 * pipe. Widths are counted in terminal columns: a Chinese character (file names, Alipay's messages) takes two.
 */

export interface Column {
  title: string;
  /** columns are left out from the highest rank when the table is too wide (0 is never left out) */
  rank: number;
  align?: 'left' | 'right';
  /** may be cut to fit, down to `min` columns (a reason, a file list) */
  shrink?: boolean;
  min?: number;
}

/** East Asian wide and fullwidth ranges (CJK, Hangul, fullwidth forms, CJK extensions): two columns each. */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) || (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Control characters take no column but would move the cursor: they are shown as spaces. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex -- replacing control characters is the point of this pattern
  return s.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x300 && cp <= 0x36f) continue; // combining marks
    w += isWide(cp) ? 2 : 1;
  }
  return w;
}

/** Cut to at most `width` columns, ending with "..." when cut (ASCII: one column on every terminal). */
export function cut(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  if (width <= 3) return '.'.repeat(Math.max(0, width));
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = displayWidth(ch);
    if (w + cw > width - 3) break;
    out += ch;
    w += cw;
  }
  return out + '...';
}

function pad(s: string, width: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(s)));
  return align === 'right' ? fill + s : s + fill;
}

const GAP = 2;

/**
 * The table in at most `width` columns: shrinkable columns give way first (down to their minimum), then
 * columns are left out from the highest rank. Returns the text and the titles left out (to say so).
 */
export function fitTable(columns: readonly Column[], rows: readonly string[][], width: number): { text: string; omitted: string[] } {
  const layout = fitLayout(columns, rows, width);
  return { text: [columns.map((c) => c.title), ...rows].map(layout.line).join('\n'), omitted: layout.omitted };
}

/**
 * fitTable's layout, sized from `rows` and kept for more rows (a streamed table, `rows`, sizes it from its first
 * rows): `line` lays out any row in it, cut to the columns' widths and never wider than `width`.
 */
export function fitLayout(columns: readonly Column[], rows: readonly string[][], width: number): { line(cells: string[]): string; omitted: string[] } {
  const cells = rows.map((r) => r.map((c) => clean(c ?? '')));
  const natural = columns.map((c, i) => Math.max(displayWidth(c.title), ...cells.map((r) => displayWidth(r[i] ?? ''))));
  let kept = columns.map((_, i) => i);
  const widths = [...natural];
  const total = () => kept.reduce((sum, i) => sum + widths[i]!, 0) + GAP * Math.max(0, kept.length - 1);
  for (;;) {
    let over = total() - width;
    if (over <= 0) break;
    for (const i of kept) {
      const c = columns[i]!;
      if (!c.shrink || over <= 0) continue;
      const floor = Math.max(c.min ?? 8, Math.min(displayWidth(c.title), natural[i]!));
      const give = Math.min(over, widths[i]! - floor);
      if (give > 0) {
        widths[i]! -= give;
        over -= give;
      }
    }
    if (over <= 0) break;
    const droppable = kept.filter((i) => columns[i]!.rank > 0);
    if (droppable.length === 0) break;
    const worst = droppable.reduce((a, b) => (columns[b]!.rank > columns[a]!.rank ? b : a));
    kept = kept.filter((i) => i !== worst);
  }
  const line = (r: string[]) => {
    const l = kept.map((i, k) => {
      const text = cut(clean(r[i] ?? ''), widths[i]!);
      // the last column is not padded: no trailing blanks
      return k === kept.length - 1 && columns[i]!.align !== 'right' ? text : pad(text, widths[i]!, columns[i]!.align ?? 'left');
    }).join(' '.repeat(GAP)).trimEnd();
    return displayWidth(l) > width ? cut(l, width) : l;
  };
  return { line, omitted: columns.filter((_, i) => !kept.includes(i)).map((c) => c.title) };
}

/** Tab-separated: a header row, then the rows; a tab or line break inside a cell becomes a space. */
export function tsv(titles: readonly string[], rows: readonly string[][]): string {
  const cell = (s: string) => (s ?? '').replace(/[\t\r\n]/g, ' ');
  return [titles, ...rows].map((r) => r.map(cell).join('\t')).join('\n');
}
