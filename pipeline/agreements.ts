import { createWriteStream, renameSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { maskLogonId } from '../sources/agreement-effects.js';
import type { AgreementInput, Ledger, PendingRecord } from '../state/ledger.js';
import { csvCell } from './rejects-file.js';

/**
 * What happens to a verified success beyond "uploaded": the agreement datasets keep what Alipay answered.
 * The sink runs before the row is recorded as uploaded, so a crash in between re-sends the row (the calls are
 * idempotent) rather than losing the answer.
 */
export interface ResultSink {
  success(ctx: { ledger: Ledger; runId: number; row: PendingRecord; fields: Record<string, unknown> }): void | Promise<void>;
  /** the run is over; `complete` when every row was tried (not aborted or interrupted) */
  close(complete: boolean): Promise<void>;
}

/** An agreement as Alipay answers it, made ready for the ledger: strings only, no merchant-side login id. */
export function agreementFromAnswer(item: Record<string, unknown>): AgreementInput | null {
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(item)) {
    // external_logon_id is the user's login at the merchant (often a phone number): not ours to keep.
    if (k === 'external_logon_id' || v === null || v === undefined || typeof v === 'object') continue;
    fields[k] = String(v);
  }
  if (!fields.agreement_no || !fields.status) return null;
  return {
    agreement_no: fields.agreement_no,
    status: fields.status,
    // principal_id is the 2088 user id when the principal is an account (CARD)
    alipay_user_id: fields.alipay_user_id ?? (fields.pricipal_type === 'CARD' ? fields.principal_id : undefined),
    personal_product_code: fields.personal_product_code,
    sign_scene: fields.sign_scene,
    fields,
  };
}

/** agreements effect: each success stores the agreement's new state (status, valid/invalid time, principal…). */
export function effectSink(): ResultSink {
  return {
    success({ ledger, runId, fields }) {
      const a = agreementFromAnswer(fields);
      if (a) ledger.upsertAgreement(a, 'effect', runId);
    },
    async close() {},
  };
}

/** The columns of a query export: the user it was asked for, then the answer's field names. */
export const EXPORT_COLUMNS = [
  'alipay_user_id', 'alipay_logon_id', 'agreement_no', 'status', 'sign_scene', 'personal_product_code', 'third_party_type',
  'sign_time', 'valid_time', 'invalid_time', 'pricipal_type', 'principal_id',
] as const;

/**
 * agreements query: every agreement returned is upserted into the ledger (history kept) and written to the export,
 * CSV or JSON Lines by the file name. The export is written to `<out>.partial` and renamed when the run is
 * complete, so a file under the asked name is never a half export.
 */
export function querySink(outPath: string): ResultSink {
  const jsonl = /\.jsonl$/i.test(outPath);
  const partial = `${outPath}.partial`;
  const out: WriteStream = createWriteStream(partial, { encoding: 'utf8' });
  let failed: Error | null = null;
  out.on('error', (err) => (failed = err));
  if (!jsonl) out.write(EXPORT_COLUMNS.join(',') + '\n');
  let rows = 0;
  return {
    async success({ ledger, runId, row, fields }) {
      const asked = JSON.parse(row.payload) as Record<string, string>;
      const list = Array.isArray(fields.usage_agreement_info_list) ? (fields.usage_agreement_info_list as Record<string, unknown>[]) : [];
      for (const item of list) {
        const a = agreementFromAnswer(item);
        if (!a) continue;
        if (!a.alipay_user_id && asked.alipay_user_id) a.alipay_user_id = asked.alipay_user_id;
        ledger.upsertAgreement(a, 'query', runId);
        const line: Record<string, string> = {
          ...a.fields,
          alipay_user_id: asked.alipay_user_id ?? a.alipay_user_id ?? '',
          // the logon id is an email or phone number: the export names the user by id, and the logon id masked
          alipay_logon_id: asked.alipay_logon_id ? maskLogonId(asked.alipay_logon_id) : '',
        };
        const text = jsonl
          ? JSON.stringify(Object.fromEntries(EXPORT_COLUMNS.map((c) => [c, line[c] ?? '']))) + '\n'
          : EXPORT_COLUMNS.map((c) => csvCell(line[c] ?? '')).join(',') + '\n';
        rows++;
        if (!out.write(text)) await once(out, 'drain');
      }
    },
    async close(complete) {
      await new Promise<void>((resolve) => out.end(resolve));
      if (failed) throw failed;
      if (complete) renameSync(partial, outPath);
      else if (rows === 0) rmSync(partial, { force: true });
    },
  };
}
