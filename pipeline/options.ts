/**
 * Every option of every command, as data: its type, its help, its default, and whether its value is a secret.
 * settings.ts reads it to merge flags, environment and config; commands/ pick the options each command has.
 */
export type OptionType = 'string' | 'number' | 'boolean' | 'list';

export interface OptionSpec {
  type: OptionType;
  describe: string;
  group?: string;
  /** shown in --help and used when no source gives a value */
  default?: string | number | boolean;
  /** a value that must never be printed or recorded (keys, tokens); also always read as this option's value */
  secret?: boolean;
}

export const SENDING = 'Sending (each also as ALIPAY_SYNC_<NAME>, e.g. ALIPAY_SYNC_APP_ID, or a --config key):';
export const RUN = 'Run:';

export const OPTIONS = {
  gateway: { type: 'string', group: SENDING, describe: 'gateway URL, or "production" / "sandbox" (Alipay\'s own)', default: 'production' },
  'app-id': { type: 'string', group: SENDING, describe: 'your Alipay app id' },
  'private-key': { type: 'string', group: SENDING, secret: true, describe: 'app private key file (PEM, or the one-line body from Alipay\'s key tool); prefer a file or the env twin: a key given as a value is visible in `ps`' },
  'alipay-public-key': { type: 'string', group: SENDING, secret: true, describe: 'Alipay public key file (not your app public key), to verify every answer' },
  'app-cert': { type: 'string', group: SENDING, describe: 'certificate mode (公钥证书): the app certificate file, appCertPublicKey_<app id>.crt; with --alipay-cert and --alipay-root-cert, instead of --alipay-public-key' },
  'alipay-cert': { type: 'string', group: SENDING, describe: 'certificate mode: the Alipay certificate file, alipayCertPublicKey_RSA2.crt (newer ones Alipay rotates to are fetched and kept in the ledger)' },
  'alipay-root-cert': { type: 'string', group: SENDING, describe: 'certificate mode: the Alipay root certificate file, alipayRootCert.crt' },
  'encrypt-key': { type: 'string', group: SENDING, secret: true, describe: 'content encryption (接口内容加密): the app\'s AES key (base64, as the console shows it), or a file holding it; biz_content is sent encrypted and encrypted answers are decrypted' },
  'sign-type': { type: 'string', group: SENDING, describe: 'RSA2 (SHA256withRSA) or legacy RSA', default: 'RSA2' },
  'app-auth-token': { type: 'string', group: SENDING, secret: true, describe: 'app_auth_token of the merchant rows are sent for (ISV mode), when their file has no app_auth_token column or the cell is empty; prefer ALIPAY_SYNC_APP_AUTH_TOKEN' },
  qps: { type: 'number', group: SENDING, describe: 'global request rate ceiling per second, 0 for none; each merchant and method also has its own rate, learned from 40005 and kept in the ledger (on a PostgreSQL ledger: all workers together)', default: 50 },
  'wait-for-quota': { type: 'boolean', group: SENDING, describe: 'when the daily quota is spent, sleep until it resets (00:00 Beijing time) and go on, instead of stopping with exit 4', default: false },
  concurrency: { type: 'number', group: SENDING, describe: 'requests in flight at most', default: 8 },
  'max-attempts': { type: 'number', group: SENDING, describe: 'attempts per row for transient failures (20000, 40005, timeouts, 5xx)', default: 5 },
  'request-timeout': { type: 'number', group: SENDING, describe: 'seconds to wait for one answer', default: 15 },
  'backoff-ms': { type: 'number', group: SENDING, describe: 'base of the exponential retry backoff (full jitter), in ms', default: 500 },
  ledger: { type: 'string', group: RUN, describe: 'the ledger (what was sent, what Alipay answered, what it holds): a SQLite file, or postgres://user@host:port/db for one that many workers share (password: PGPASSWORD or ~/.pgpass)', default: './alipay-sync.db' },
  schema: { type: 'string', group: RUN, describe: 'PostgreSQL ledger: the schema its tables live in (created and migrated by the tool), so several projects can share a database', default: 'alipay_sync' },
  lease: { type: 'number', group: RUN, describe: 'PostgreSQL ledger: seconds a worker\'s claim on rows lasts unless renewed; the rows of a worker that died go to the others after this', default: 60 },
  'rebind-ledger': { type: 'boolean', group: RUN, describe: 'bind a ledger used with another gateway/app id/app private key to this one (what it holds as uploaded elsewhere is sent again when its files are read)', default: false },
  encoding: { type: 'string', group: RUN, describe: 'CSV encoding: utf8 (BOM or not), gbk, gb18030', default: 'utf8' },
  rejects: { type: 'string', group: RUN, describe: 'write rejected rows here as CSV (line,field,reason,file, then the row), mode 0600; fix it and feed it back (see README)' },
  bom: { type: 'boolean', group: RUN, describe: 'start CSV files for spreadsheets (rejects, exports, rows --format csv) with a UTF-8 byte order mark, so Excel reads them as UTF-8; --bom=false to leave it out', default: true },
  'retry-failed': { type: 'boolean', group: RUN, describe: 'send again the rows Alipay refused for their content although they are unchanged (by default they are not: "still refused"); with --sub-code, only those', default: false },
  'sub-code': { type: 'string', group: RUN, describe: 'only rows whose last answer had this sub_code (else code), as status groups them, e.g. INFOSEC_VERIFY_FAILED' },
  'allow-test-category': { type: 'boolean', group: RUN, describe: 'borrow-entities: accept category_code "test", which Alipay requires in joint testing (联调); never in production', default: false },
  'allow-empty': { type: 'boolean', group: RUN, describe: 'a file with no data rows is fine (otherwise: a warning and exit 1, since an empty export usually means the export broke)', default: false },
  'dry-run': { type: 'boolean', group: RUN, describe: 'validate, check every setting and plan (new, changed, stale, unchanged, rejected); send nothing, change nothing', default: false },
  json: { type: 'boolean', group: RUN, describe: 'print a JSON object as the last line of stdout, on every exit (errors too)', default: false },
  verbose: { type: 'boolean', group: RUN, describe: 'log every request\'s outcome (personal data stays masked), and the stack of an internal error', default: false },
  progress: { type: 'boolean', group: RUN, describe: 'progress on stderr (a live line on a terminal, a timestamped line every --progress-interval seconds otherwise); --no-progress to hide', default: true },
  'progress-interval': { type: 'number', group: RUN, describe: 'seconds between progress lines when stderr is not a terminal (logs)', default: 10 },
  quiet: { type: 'boolean', group: RUN, describe: 'only warnings, errors and the summary: no progress, no informational lines', default: false },
  'metrics-port': { type: 'number', group: RUN, describe: 'serve Prometheus metrics of the run on http://127.0.0.1:PORT/metrics while it runs (0: any free port, printed)' },
  config: { type: 'string', group: RUN, describe: 'JSON file of settings (same names as the flags); flags and env win over it' },
  'notify-url': { type: 'string', group: RUN, describe: 'effect: where Alipay sends dut_user_sign notifications (see notify serve)' },
  out: { type: 'string', group: RUN, describe: 'query: write every agreement found here (mode 0600), CSV, or JSON Lines when the name ends in .jsonl' },
  fresh: { type: 'boolean', group: RUN, describe: 'query: ask every user again, even those an interrupted run of the last 24 h already asked', default: false },
  port: { type: 'number', describe: 'port to listen on' },
  host: { type: 'string', describe: 'address to listen on (put it behind your HTTPS reverse proxy; 0.0.0.0 for all)', default: '127.0.0.1' },
  runs: { type: 'number', describe: 'how many recent runs to show', default: 10 },
  run: { type: 'number', describe: 'the run to report on (alipay-sync status lists them) [default: the newest]' },
  html: { type: 'string', describe: 'write the report here: one HTML file that opens anywhere without network (mode 0600)' },
  status: { type: 'list', describe: 'only rows in these states, repeatable or comma-separated: pending, uploaded, failed, rejected, superseded [default: all]' },
  dataset: { type: 'string', describe: 'only rows of this dataset: borrow-entities, worker-contracts, agreement-effects, agreement-queries' },
  file: { type: 'string', describe: 'only rows read from this input file (its name as given to the run, or its last part: points.csv)' },
  key: { type: 'string', describe: 'one key: its whole story (snapshots, attempts with codes and Alipay\'s trace ids, current state); a hashed key as listed (h:…)' },
  format: { type: 'string', describe: 'table (for people), csv (for spreadsheets: BOM, formula-guarded) or jsonl (one JSON object a line)', default: 'table' },
  online: { type: 'boolean', describe: 'also make one harmless signed call to the gateway, proving app id, keys and permission (see README)', default: false },
  'app-public-key': { type: 'string', describe: 'the app public key that request signatures are checked with' },
  'alipay-private-key': { type: 'string', secret: true, describe: '"Alipay\'s" private key that answers are signed with' },
  'keys-dir': { type: 'string', describe: 'where its keys live: reused when present, made (mode 0600) when not', default: './sandbox-keys' },
  fault: { type: 'list', describe: 'inject faults, repeatable: KIND=SHARE, KIND one of unavailable, limited, system_error, http502, drop, slow, tamper, wrong_key, unsigned, duplicate_key, gbk_error, invalid_parameter, http403, http407, http408, http413, http429, html200, trickle, oversized' },
  behave: { type: 'list', describe: 'switch on a behaviour of the real gateway, repeatable: noBizSuccess, effectAgainSucceeds, unescapedSlash, openId (the app is on OpenID: users named by open id), requireEncryption, encryptAllAnswers (the last two with --content-encryption)' },
  'slow-ms': { type: 'number', describe: 'delay of a "slow" answer', default: 3000 },
  'fault-seed': { type: 'number', describe: 'seed of the fault dice', default: 1 },
  'fault-max-per-request': { type: 'number', describe: 'at most this many faults for one identical request' },
  agreements: { type: 'string', describe: 'JSON file of user agreements it holds: [{"agreement_no", "alipay_user_id" and/or "alipay_open_id", "personal_product_code", "sign_scene", "status": "TEMP|NORMAL|STOP"}, …]' },
  'cert-mode': { type: 'boolean', describe: 'certificate mode: a throw-away root, Alipay certificate and app certificate in --keys-dir (made when absent); prints the flags', default: false },
  'rotate-after': { type: 'number', describe: 'certificate mode: rotate the Alipay certificate after this many requests (as Alipay does now and then)' },
  'content-encryption': { type: 'boolean', describe: 'content encryption (接口内容加密): an AES key in --keys-dir (made when absent); encrypted requests get encrypted answers; prints --encrypt-key', default: false },
  quota: { type: 'number', describe: 'requests per second it accepts of the app before answering 40005' },
  'daily-quota': { type: 'number', describe: 'requests per Beijing day it accepts of the app before answering 40005 (the day\'s quota spent; POST /_sandbox/quota {"reset":"day"} starts a new day)' },
  'merchant-quota': { type: 'number', describe: 'requests per second it accepts for each merchant (app_auth_token)' },
  'merchant-daily-quota': { type: 'number', describe: 'requests per Beijing day it accepts for each merchant' },
  'merchant-token': { type: 'list', secret: true, describe: 'an app_auth_token it accepts, repeatable (given any, every other token is refused: 20001 aop.invalid-app-auth-token)' },
  'expired-token': { type: 'list', secret: true, describe: 'an app_auth_token it refuses as expired (20001 aop.app-auth-token-time-out), repeatable' },
  examples: { type: 'string', describe: 'folder of sample CSVs [default: the package\'s examples/]' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

