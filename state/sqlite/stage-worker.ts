import { Worker } from 'node:worker_threads';
import { type StageBatchMessage, type StageThreadInit, type StageThreadReply } from './stage-protocol.js';
import { LedgerError } from '../errors.js';

/**
 * Stages rows into the ledger on a worker thread (see stage-thread.ts). At most `window` batches are in flight,
 * so memory stays bounded whatever the file size, and a failure in the worker surfaces at the next call.
 */
export class BackgroundStager {
  private readonly worker: Worker;
  private readonly window: number;
  private inFlight = 0;
  private unchanged = 0;
  private refused = 0;
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];
  /** terminate() makes the thread exit with code 1: that is us ending it, not a failure */
  private ending = false;
  private readonly ready: Promise<void>;
  private finished: Promise<{ new: number; changed: number; carried?: number } | null> | null = null;
  private onDone: ((plan: { new: number; changed: number; carried?: number } | null) => void) | null = null;
  /** fail() releases ready() too, so a thread that dies before it is ready cannot hang the run */
  private readonly readyResolve: () => void;

  constructor(init: StageThreadInit, window = 8) {
    this.window = window;
    this.worker = new Worker(new URL('./stage-thread.js', import.meta.url), { workerData: init });
    let readyResolve!: () => void;
    this.ready = new Promise<void>((resolve) => (readyResolve = resolve));
    this.readyResolve = readyResolve;
    this.worker.on('message', (m: StageThreadReply) => {
      if (m.type === 'ready') readyResolve();
      else if (m.type === 'staged') {
        this.unchanged += m.unchanged;
        this.refused += m.refused;
        this.inFlight--;
        this.wake();
      } else if (m.type === 'done') this.onDone?.(m.plan);
      else this.fail(new LedgerError('SYNC_LEDGER', `staging failed: ${m.message}`));
    });
    this.worker.on('error', (err) => this.fail(new LedgerError('SYNC_LEDGER', `staging thread failed: ${err.message}`)));
    this.worker.on('exit', (code) => {
      if (code !== 0 && !this.failure && !this.ending) this.fail(new LedgerError('SYNC_LEDGER', `staging thread exited with code ${code}`));
    });
  }

  private fail(err: Error) {
    if (!this.failure) this.failure = err;
    this.readyResolve();
    this.wake();
    this.onDone?.(null);
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private check() {
    if (this.failure) throw this.failure;
  }

  /** Hand a batch over; waits while `window` batches are still being staged. */
  async stage(batch: Omit<StageBatchMessage, 'type'>): Promise<void> {
    await this.ready;
    this.check();
    while (this.inFlight >= this.window) {
      await new Promise<void>((r) => this.waiters.push(r));
      this.check();
    }
    this.inFlight++;
    this.worker.postMessage({ type: 'batch', ...batch } satisfies StageBatchMessage);
  }

  /** Rows found identical to what Alipay holds, in the batches staged so far. */
  get unchangedCount(): number {
    return this.unchanged;
  }

  /** Wait for every batch, close the worker's connection (a dry run is rolled back there) and end the thread. */
  async finish(): Promise<{ unchanged: number; refused: number; plan: { new: number; changed: number; carried?: number } | null }> {
    if (!this.finished) {
      this.finished = (async () => {
        await this.ready;
        while (this.inFlight > 0 && !this.failure) await new Promise<void>((r) => this.waiters.push(r));
        this.check();
        const plan = await new Promise<{ new: number; changed: number; carried?: number } | null>((resolve) => {
          this.onDone = resolve;
          this.worker.postMessage({ type: 'finish' });
        });
        this.ending = true;
        await this.worker.terminate();
        this.check();
        return plan;
      })();
    }
    const plan = await this.finished;
    return { unchanged: this.unchanged, refused: this.refused, plan };
  }

  /** Stop without finishing (an error elsewhere): the thread ends; committed batches stay, a dry run is dropped. */
  async abort(): Promise<void> {
    this.ending = true;
    await this.worker.terminate();
  }
}

