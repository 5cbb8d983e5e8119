import type { LedgerPort, Mode, RetryRefused, SendPolicy, StageBatch, StageRow } from './port.js';


/**
 * Staging straight through the port, for a ledger whose server works in parallel with the reader (PostgreSQL):
 * batches are applied in order (a later row of a key must meet the earlier one), with up to `window` of them
 * queued while the next is read, so reading and the database overlap without a thread. Same interface as the
 * SQLite adapter's BackgroundStager; a failure surfaces at the next call.
 */
export class DirectStager {
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private unchanged = 0;
  private refused = 0;
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly ledger: LedgerPort<Mode>,
    private readonly init: { runId: number; dataset: string; policy: SendPolicy; retry?: RetryRefused | null; dryRun: boolean },
    private readonly window = 2,
  ) {}

  private check(): void {
    if (this.failure) throw this.failure;
  }

  async stage(batch: StageBatch): Promise<void> {
    this.check();
    while (this.queued >= this.window) {
      await new Promise<void>((r) => this.waiters.push(r));
      this.check();
    }
    this.queued++;
    const { runId, dataset, policy, retry } = this.init;
    this.chain = this.chain.then(async () => {
      try {
        if (this.failure) return;
        const rows: StageRow[] = batch.keys.map((key, i) => ({
          merchant: batch.merchants?.[i] ?? '', key, snapshot: batch.snapshots[i]!, bizContent: batch.bizContents[i]!, file: batch.file, line: batch.lines[i]!,
          ...(batch.formerKeys?.[i] ? { formerKey: batch.formerKeys[i] } : {}),
        }));
        if (rows.length) {
          const counts = await this.ledger.stage(runId, dataset, rows, policy, retry ?? null);
          this.unchanged += counts.unchanged;
          this.refused += counts.refused;
        }
        if (batch.rejects.length) await this.ledger.addRejects(runId, dataset, batch.rejects);
      } catch (err) {
        this.failure ??= err as Error;
      } finally {
        this.queued--;
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      }
    });
  }

  get unchangedCount(): number {
    return this.unchanged;
  }

  /** Wait for every batch; a dry run's plan is read inside the dry run (the ledger was opened as one). */
  async finish(): Promise<{ unchanged: number; refused: number; plan: { new: number; changed: number; carried?: number } | null }> {
    await this.chain;
    this.check();
    if (!this.init.dryRun) return { unchanged: this.unchanged, refused: this.refused, plan: null };
    const staged = await this.ledger.stagedPlan(this.init.runId, this.init.dataset);
    const carried = (await this.ledger.countPending(this.init.dataset)) - staged.new - staged.changed;
    return { unchanged: this.unchanged, refused: this.refused, plan: { ...staged, carried } };
  }

  async abort(): Promise<void> {
    await this.chain.catch(() => {});
  }
}
