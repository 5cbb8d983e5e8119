/**
 * alipay-sync as a library: the same pieces the CLI is made of. A run of one dataset is `runUpload`; it needs a
 * client (`AlipayClient`, from settings checked by `resolveSendSettings`), the ledger path, and the files. The
 * sandbox gateway and the key helpers let an application test against a local Alipay, as our own tests do.
 *
 *   import { runUpload, AlipayClient, resolveSendSettings, datasets, streamLogger } from 'alipay-sync';
 *
 * Everything exported here is documented in README.md ("As a library"); anything else is internal.
 */
export { runUpload, type UploadOptions, type UploadResult, type UploadSummary } from './upload.js';
export { AlipayClient, MAX_ANSWER_BYTES, type CallOptions, type CallResult, type ClientOptions } from './alipay/client.js';
export { FailureStreak, type Outcome, type OutcomeKind } from './alipay/classify.js';
export { loadPrivateKey, loadPublicKey, parsePrivateKey, parsePublicKey } from './alipay/keys.js';
export { GATEWAYS, resolveGateway, resolveSendSettings, targetGateway, type RawSettings, type SendSettings } from './config.js';
export { effectSink, querySink, type ResultSink } from './agreements.js';
export { EXIT, SyncError, exitCodeFor, type SyncErrorCode } from './errors.js';
export { silentLogger, streamLogger, type Logger } from './log.js';
export { humanSummary } from './summary.js';
export type { Answered, LiveState, RunObserver, StagedCounts } from './run/observe.js';
export { statusReport, type StatusReport } from './status.js';
export { writeReport, type ReportOptions } from './report/write.js';
export { SandboxGateway, DEFAULT_SANDBOX_APP_ID, type SandboxOptions } from './sandbox/server.js';
export { generateKeyPairs, readKeyFiles, writeKeyFiles, type KeyFiles, type KeyPairs } from './sandbox/keys.js';
export { NotifyServer, type NotifyServerOptions } from './notify/server.js';
export { Ledger } from '../state/ledger.js';
export { agreementDatasets, borrowEntitiesWith, datasets, type Dataset } from '../sources/index.js';
