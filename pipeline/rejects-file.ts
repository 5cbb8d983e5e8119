import { createWriteStream, renameSync, rmSync, type WriteStream } from 'node:fs';
import { REJECTS_COLUMNS } from '../sources/csv.js';
import { BOM, csvRow } from './csv-writer.js';
import { SyncError } from './errors.js';
import { openPartial } from './paths.js';

/**
 * Write to a stream, waiting for it to drain when it asks, but never forever: a stream that fails (disk full,
 * a device gone) rejects the wait with a SYNC_OUTPUT error naming the file, so the run stops cleanly instead of
 * hanging on a 'drain' that will never come.
 */
export async function writeOrFail(out: WriteStream, text: string, what: string, failed: () => Error | null): Promise<void> {
  const before = failed();
  if (before) throw outputError(what, before);
  if (out.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const done = () => {
      out.off('drain', done);
      out.off('error', done);
      const err = failed();
      if (err) reject(outputError(what, err));
      else resolve();
    };
    out.on('drain', done);
    out.on('error', done);
  });
}

export function outputError(what: string, err: Error): SyncError {
  const code = (err as NodeJS.ErrnoException).code;
  return new SyncError('SYNC_OUTPUT', `cannot write ${what}: ${code ?? err.message}`, {}, { cause: err });
}

/**
 * The --rejects file: `line,field,reason,file` then the row's cells under the dataset's own column names, so a
 * fixed copy of it can be fed back to the same command (the reader knows the first four columns and ignores
 * them). For spreadsheets: a UTF-8 BOM first (unless `bom` is false), and formula-guarded cells, which the reader
 * unguards in a file that starts with these columns (sources/csv/formula-guard.ts).
 * Cells arrive already made safe (personal fields masked) by the dataset; the file is still created 0600.
 * It is written to a partial file created exclusively beside it and renamed over it when staging is done: the
 * file under the asked name is never half written, a run that fails leaves the previous one as it was, and a
 * hard link or a device at that name is never written through.
 */
export class RejectsFile {
  private readonly out: WriteStream;
  private readonly partial: string;
  private failed: Error | null = null;

  constructor(readonly path: string, private readonly columns: readonly string[], o: { bom?: boolean } = {}) {
    const { fd, partial } = openPartial('--rejects', path);
    this.partial = partial;
    this.out = createWriteStream('', { fd, encoding: 'utf8' });
    this.out.on('error', (err) => (this.failed ??= err));
    this.out.write((o.bom === false ? '' : BOM) + csvRow([...REJECTS_COLUMNS, ...columns]));
  }

  async write(file: string, line: number, field: string, reason: string, cells: Readonly<Record<string, string>> | null): Promise<void> {
    const row = [String(line), field, reason, file, ...this.columns.map((c) => cells?.[c] ?? '')];
    await writeOrFail(this.out, csvRow(row), this.path, () => this.failed);
  }

  /** Finish the file and put it in place. */
  async close(): Promise<void> {
    if (!this.failed) await new Promise<void>((resolve) => this.out.end(resolve));
    if (this.failed) {
      this.abandon();
      throw outputError(this.path, this.failed);
    }
    try {
      renameSync(this.partial, this.path);
    } catch (err) {
      this.abandon();
      throw outputError(this.path, err as Error);
    }
  }

  /** The run failed: drop the partial file, leave whatever was at the path before. */
  abandon(): void {
    this.out.destroy();
    rmSync(this.partial, { force: true });
  }
}
