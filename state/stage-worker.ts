/** Staging on a worker thread is the SQLite adapter's (a second connection to the file): state/sqlite/stage-worker.ts. */
export { BackgroundStager } from './sqlite/stage-worker.js';
export type { StageBatchMessage, StageThreadInit, StageThreadReply } from './sqlite/stage-protocol.js';
