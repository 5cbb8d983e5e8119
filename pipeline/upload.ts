/**
 * A run of one dataset: check the files, stage every row into the ledger, send what is pending, report.
 * The run lives in run/ (index.ts orchestrates; stage.ts, send.ts, row-outcome.ts, session.ts, summary.ts);
 * this module keeps its public name.
 */
export { runUpload, type UploadOptions, type UploadResult, type UploadSummary } from './run/index.js';
