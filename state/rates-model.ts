/**
 * Learned rates and spent daily quotas, as the ledger keeps them for the rate controller (LedgerRates in
 * state/port.ts). Plain data: the decisions are pipeline/rate/controller.ts's.
 */
import type { MerchantId } from './model.js';

/** Which limit a learned rate or a quota stop is about: one app, one merchant ('' for none), one method. */
export interface RateKey {
  appId: string;
  merchant: MerchantId;
  method: string;
}

/**
 * What the rate controller learned of one (app, merchant, method) (pipeline/rate/controller.ts): where the next
 * run starts. Plain numbers: the decisions are the controller's, the ledger only keeps them.
 */
export interface LearnedRate extends RateKey {
  /** requests per second the next run starts at (below --qps) */
  rate: number;
  /** the quota as measured (requests admitted per second while it was reached), or null when never reached */
  quota: number | null;
  /** the share of throttled answers that did not depend on the rate (a proxy's noise), 0 to 1 */
  noise: number;
  /** when it was learned (ISO, the ledger's clock); set by the ledger */
  updatedAt?: string;
}

/** A daily quota found spent: nothing is sent for the key until `until` (00:00 Beijing time, ISO). */
export interface QuotaStop extends RateKey {
  until: string;
  /** when it was found spent (ISO) */
  since: string;
  /** how it was told: Alipay's sub_code and sub_msg, or the behaviour seen */
  reason: string;
}
