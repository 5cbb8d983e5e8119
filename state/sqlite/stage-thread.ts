/**
 * The staging worker thread: its own SQLite connection, fed batches by BackgroundStager. Reading and validating
 * (main thread) and the ledger's upserts (here) then run on two cores instead of taking turns on one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Ledger } from '../ledger.js';
import type { StageRow } from '../port.js';
import { type StageBatchMessage, type StageThreadInit, type StageThreadReply } from './stage-protocol.js';

const init = workerData as StageThreadInit;
const port = parentPort!;
let ledger: Ledger | null = null;

function fail(err: unknown) {
  port.postMessage({ type: 'error', message: (err as Error).message } satisfies StageThreadReply);
}

try {
  ledger = new Ledger(init.ledgerPath, { hashSecret: Buffer.from(init.hashSecret) });
  // A dry run's whole staging is one transaction on this connection, rolled back at the end.
  if (init.dryRun) ledger.beginDryRun();
  port.postMessage({ type: 'ready' } satisfies StageThreadReply);
} catch (err) {
  fail(err);
}

port.on('message', (msg: StageBatchMessage | { type: 'finish' }) => {
  if (!ledger) return;
  try {
    if (msg.type === 'batch') {
      const n = msg.lines.length;
      const rows: StageRow[] = new Array(n);
      const merchants = msg.merchants;
      for (let i = 0; i < n; i++) {
        rows[i] = { merchant: merchants ? merchants[i]! : '', key: msg.keys[i]!, snapshot: msg.snapshots[i]!, bizContent: msg.bizContents[i]!, file: msg.file, line: msg.lines[i]! };
        if (msg.formerKeys?.[i]) rows[i]!.formerKey = msg.formerKeys[i];
      }
      const counts = ledger.stage(init.runId, init.dataset, rows, init.policy, init.retry ?? null);
      if (msg.rejects.length) ledger.addRejects(init.runId, init.dataset, msg.rejects);
      port.postMessage({ type: 'staged', unchanged: counts.unchanged, refused: counts.refused } satisfies StageThreadReply);
    } else {
      // A dry run's plan, and the rows pending from earlier runs that it did not take over (seen inside its own
      // transaction: the main connection cannot see which ones this run restaged).
      const staged = init.dryRun ? ledger.stagedPlan(init.runId, init.dataset) : null;
      const plan = staged ? { ...staged, carried: ledger.countPending(init.dataset) - staged.new - staged.changed } : null;
      ledger.close(); // rolls a dry run back
      ledger = null;
      port.postMessage({ type: 'done', plan } satisfies StageThreadReply);
    }
  } catch (err) {
    fail(err);
  }
});
