import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

/** CSV text for one cell: quoted when it holds a comma, quote or line break. */
export function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/**
 * The --rejects file: `line,field,reason,file` then the row's cells under the dataset's own column names, so a
 * fixed copy of it can be fed back to the same command (the first four columns are ignored as unknown).
 * Cells arrive already made safe (personal fields masked) by the dataset.
 */
export class RejectsFile {
  private readonly out: WriteStream;
  private failed: Error | null = null;

  constructor(readonly path: string, private readonly columns: readonly string[]) {
    this.out = createWriteStream(path, { encoding: 'utf8' });
    this.out.on('error', (err) => (this.failed = err));
    this.out.write(['line', 'field', 'reason', 'file', ...columns].map(csvCell).join(',') + '\n');
  }

  async write(file: string, line: number, field: string, reason: string, cells: Readonly<Record<string, string>> | null): Promise<void> {
    const row = [String(line), field, reason, file, ...this.columns.map((c) => cells?.[c] ?? '')];
    if (!this.out.write(row.map(csvCell).join(',') + '\n')) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.out.end(resolve));
    if (this.failed) throw this.failed;
  }
}
