/** The SourceErrors that end a CSV file early: it cannot be read, or it has no header row. */
import { SourceError } from '../errors.js';

export function readError(file: string, err: unknown): SourceError {
  const detail = err instanceof Error ? err.message : String(err);
  return new SourceError('SYNC_SOURCE_READ', `cannot read ${file}: ${detail}`, { file, cause: err });
}

/** Our own errors (a bad header) end the file as they are; anything else is the file failing to be read. */
export function failure(file: string, err: unknown): SourceError {
  return err instanceof SourceError ? err : readError(file, err);
}

export function emptyFile(file: string): SourceError {
  return new SourceError('SYNC_SOURCE_HEADER', `${file} is empty: no header row`, { file });
}
