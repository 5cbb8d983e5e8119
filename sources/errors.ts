/**
 * Errors raised while reading a source file. Each carries a stable `code` so the pipeline's one
 * classifier can decide what to do (these are all run-fatal for the file: nothing in it can be
 * trusted to be read right) and context so the message can point at the place to fix.
 */

export type SourceErrorCode = 'SYNC_SOURCE_READ' | 'SYNC_SOURCE_HEADER' | 'SYNC_SOURCE_PARSE';

export interface SourceErrorContext {
  file?: string;
  line?: number;
  field?: string;
  cause?: unknown;
}

export class SourceError extends Error {
  // Typed as string (not the union) so callers can compare with codes of other layers freely.
  code: string;
  file?: string;
  line?: number;
  field?: string;

  constructor(code: SourceErrorCode | string, message: string, ctx: SourceErrorContext = {}) {
    super(message, ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.name = 'SourceError';
    this.code = code;
    if (ctx.file !== undefined) this.file = ctx.file;
    if (ctx.line !== undefined) this.line = ctx.line;
    if (ctx.field !== undefined) this.field = ctx.field;
  }
}
