import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { maskLogonId } from '../sources/agreement-effects.js';
import { agreementQuery } from '../sources/agreement-query.js';
import type { GatewayMethod } from '../sources/dataset.js';
import type { AgreementInput, Ledger, PendingRecord } from '../state/ledger.js';
import { BOM, csvRow } from './csv-writer.js';
import { outputError, writeOrFail } from './rejects-file.js';
import { openPartial } from './paths.js';

/**
 * What happens to a verified success beyond "uploaded": the agreement datasets keep what Alipay answered.
 * The sink runs before the row is recorded as uploaded, so a crash in between re-sends the row (the calls are
 * idempotent) rather than losing the answer. What `success` returns is kept as the row's result in the ledger
 * (free of personal data); without it nothing of the answer is kept.
 */
export interface ResultSink {
  success(ctx: { ledger: Ledger; runId: number; row: PendingRecord; fields: Record<string, unknown> }): string | undefined | Promise<string | undefined>;
  /**
   * The run is over; `complete` when every row was tried (not aborted or interrupted). `session` names the rows
   * whose answers belong to this run's export: those uploaded with that snapshot (see runUpload).
   */
  close(ctx: { complete: boolean; ledger: Ledger; dataset: string; session: string }): Promise<{ note?: string } | void>;
  /**
   * How to read a row's real state back when an answer leaves it unclear (outcome `reconcile`): the query to
   * send, and the status that means the row is done. Null: the row cannot be read back (it then fails).
   */
  readBack?(row: PendingRecord): (GatewayMethod & { bizContent: string; wanted: string }) | null;
}

/** The fields of a sign.effect row that name one agreement for alipay.user.agreement.query. */
const QUERY_BY = [
  'agreement_no', 'alipay_user_id', 'alipay_open_id', 'alipay_logon_id', 'personal_product_code', 'sign_scene', 'external_agreement_no', 'third_party_type',
] as const;

/** Keys of an answer that are a person's login (at Alipay or at the merchant): never kept, never exported. */
const LOGIN_FIELDS = new Set(['external_logon_id']);

/** An agreement as Alipay answers it, made ready for the ledger: strings only, no login ids in clear. */
export function agreementFromAnswer(item: Record<string, unknown>): AgreementInput | null {
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(item)) {
    // external_logon_id is the user's login at the merchant (often a phone number): not ours to keep.
    if (LOGIN_FIELDS.has(k) || v === null || v === undefined || typeof v === 'object') continue;
    // Alipay masks alipay_logon_id in answers ("test***ali@alipay.net"); mask again rather than trust it.
    fields[k] = k === 'alipay_logon_id' ? maskLogonId(String(v)) : String(v);
  }
  if (!fields.agreement_no || !fields.status) return null;
  // principal_id is the 2088 user id when the principal is an account (CARD), principal_open_id its open id (an
  // app on OpenID gets that instead); a notification names the user by alipay_user_id or alipay_open_id itself.
  const card = fields.pricipal_type === 'CARD';
  return {
    agreement_no: fields.agreement_no,
    status: fields.status,
    alipay_user_id: fields.alipay_user_id ?? (card ? fields.principal_id : undefined),
    alipay_open_id: fields.alipay_open_id ?? (card ? fields.principal_open_id : undefined),
    principal_open_id: fields.principal_open_id,
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
      if (!a) return undefined;
      ledger.upsertAgreement(a, 'effect', runId);
      return JSON.stringify(a.fields);
    },
    async close() {},
    // A second effect of an agreement that is already NORMAL (the first attempt's answer was lost) is answered
    // as a conflict: the agreement's own query says whether it is effective.
    readBack(row) {
      const effect = JSON.parse(row.biz_content) as Record<string, string>;
      const q: Record<string, string> = {};
      for (const k of QUERY_BY) if (effect[k]) q[k] = effect[k];
      // by number alone when there is one: it names the agreement exactly
      const biz = q.agreement_no ? { agreement_no: q.agreement_no } : q;
      return { ...agreementQuery, bizContent: JSON.stringify(biz), wanted: 'NORMAL' };
    },
  };
}

/**
 * The columns of a query export: the user it was asked for, then the answer's field names. Columns added later
 * come last (the open ids, for apps on OpenID), so a consumer that reads columns by position keeps working.
 */
export const EXPORT_COLUMNS = [
  'alipay_user_id', 'alipay_logon_id', 'agreement_no', 'status', 'sign_scene', 'personal_product_code', 'third_party_type',
  'sign_time', 'valid_time', 'invalid_time', 'pricipal_type', 'principal_id', 'alipay_open_id', 'principal_open_id',
] as const;

type ExportLine = Record<(typeof EXPORT_COLUMNS)[number], string>;

/**
 * agreements query: every agreement returned is upserted into the ledger (history kept), and the lines of the
 * export are kept as the row's result. The export itself is written when the run is complete, from the ledger:
 * the answers of this run and of the interrupted runs it resumes (see runUpload: a query run that follows an
 * interrupted one within 24 h asks only the users that one did not finish). It is written to a partial file
 * created exclusively (0600) beside `outPath` and renamed over it, so a file under the asked name is never half
 * an export, and an interrupted run leaves the previous export as it was. A CSV export is for spreadsheets: a
 * UTF-8 BOM first (unless `bom` is false) and formula-guarded cells (csv-writer.ts); JSON Lines has neither.
 */
export function querySink(outPath: string, o: { bom?: boolean } = {}): ResultSink {
  const jsonl = /\.jsonl$/i.test(outPath);
  return {
    success({ ledger, runId, row, fields }) {
      const asked = JSON.parse(row.biz_content) as Record<string, string>;
      const list = Array.isArray(fields.usage_agreement_info_list) ? (fields.usage_agreement_info_list as Record<string, unknown>[]) : [];
      const lines: ExportLine[] = [];
      for (const item of list) {
        const a = agreementFromAnswer(item);
        if (!a) continue;
        if (!a.alipay_user_id && asked.alipay_user_id) a.alipay_user_id = asked.alipay_user_id;
        if (!a.alipay_open_id && asked.alipay_open_id) a.alipay_open_id = asked.alipay_open_id;
        ledger.upsertAgreement(a, 'query', runId);
        const line: Record<string, string> = {
          ...a.fields,
          alipay_user_id: asked.alipay_user_id ?? a.alipay_user_id ?? '',
          alipay_open_id: asked.alipay_open_id ?? a.alipay_open_id ?? '',
          // the logon id is an email or phone number: the export names the user by id, and the logon id masked
          alipay_logon_id: asked.alipay_logon_id ? maskLogonId(asked.alipay_logon_id) : '',
        };
        lines.push(Object.fromEntries(EXPORT_COLUMNS.map((c) => [c, line[c] ?? ''])) as ExportLine);
      }
      return JSON.stringify(lines);
    },
    async close({ complete, ledger, dataset, session }) {
      if (!complete) return { note: `export not written (the run did not finish): ${outPath} is as it was; run the same command again to finish it` };
      const { fd, partial } = openPartial('--out', outPath);
      const out = createWriteStream('', { fd, encoding: 'utf8' });
      let failed: Error | null = null;
      out.on('error', (err) => (failed ??= err));
      let agreements = 0;
      // Two questions can cover one agreement (a user asked with and without a scene filter): export it once.
      // The set of numbers is the one thing an export holds in memory (about 60 bytes an agreement).
      const seen = new Set<string>();
      try {
        if (!jsonl) await writeOrFail(out, (o.bom === false ? '' : BOM) + csvRow(EXPORT_COLUMNS), outPath, () => failed);
        for (const result of ledger.sessionResults(dataset, session)) {
          if (!result) continue;
          for (const line of JSON.parse(result) as ExportLine[]) {
            if (seen.has(line.agreement_no)) continue;
            seen.add(line.agreement_no);
            const text = jsonl ? JSON.stringify(line) + '\n' : csvRow(EXPORT_COLUMNS.map((c) => line[c] ?? ''));
            await writeOrFail(out, text, outPath, () => failed);
            agreements++;
          }
        }
        await new Promise<void>((resolve) => out.end(resolve));
        if (failed) throw outputError(outPath, failed);
        renameSync(partial, outPath);
      } catch (err) {
        // the stream owns the descriptor (autoClose): destroying it closes it; closing it here as well could
        // close a number the process has meanwhile reused
        out.destroy();
        rmSync(partial, { force: true });
        throw err;
      }
      return { note: `export: ${agreements} agreement(s) in ${outPath}` };
    },
  };
}
