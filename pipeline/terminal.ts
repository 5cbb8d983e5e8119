/**
 * One live status line per terminal stream, and log lines that go above it. On a terminal the progress line
 * (progress.ts) is redrawn in place with `\r` and "erase to end of line"; a warning written while it stands
 * would be glued onto it. So every line the logger writes goes through writeAbove(): the status line is erased,
 * the line is written, and the status line is drawn again under it.
 */
export type TtyStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** What owns a stream's status line: its current text (already fitted to the width). */
export interface StatusLine {
  text(): string;
}

const CLEAR = '\r\x1b[K';
const owners = new Map<TtyStream, StatusLine>();
/** what is on screen now, per stream: written by draw(), erased by clear() */
const shown = new Map<TtyStream, boolean>();

export function isTty(stream: TtyStream): boolean {
  return stream.isTTY === true;
}

/**
 * The width a line may take on this stream without wrapping: one less than the terminal's columns (writing the
 * last column leaves some terminals' cursor in a pending-wrap state, so the next `\r` would go to the next line).
 * Off a terminal, no limit.
 */
export function lineWidth(stream: TtyStream): number {
  if (!isTty(stream)) return Infinity;
  const c = stream.columns;
  return typeof c === 'number' && c > 1 ? c - 1 : 79;
}

export function claimStatusLine(stream: TtyStream, line: StatusLine): void {
  owners.set(stream, line);
}

/** Give the line up; `last` is written as an ordinary line in its place (the final progress line). */
export function releaseStatusLine(stream: TtyStream, line: StatusLine, last?: string): void {
  if (owners.get(stream) !== line) {
    if (last !== undefined) stream.write(last + '\n');
    return;
  }
  owners.delete(stream);
  if (shown.get(stream)) stream.write(CLEAR);
  shown.delete(stream);
  if (last !== undefined) stream.write(last + '\n');
}

/** Redraw the status line in place (a terminal only). */
export function drawStatusLine(stream: TtyStream): void {
  const owner = owners.get(stream);
  if (!owner || !isTty(stream)) return;
  stream.write(CLEAR + owner.text());
  shown.set(stream, true);
}

/** Write whole lines to a stream, above its status line if it has one (which is then drawn again). */
export function writeAbove(stream: TtyStream, text: string): void {
  const owner = owners.get(stream);
  if (!owner || !isTty(stream)) {
    stream.write(text);
    return;
  }
  stream.write((shown.get(stream) ? CLEAR : '') + text + owner.text());
  shown.set(stream, true);
}
