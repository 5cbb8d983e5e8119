import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { AGREEMENT_STATE_FIELDS, type AgreementRecord, type AgreementStateField } from './methods/agreements.js';
import type { StoredEntity } from './methods/borrow-entity.js';
import type { StoredContract } from './methods/worker-contract.js';
import type { SandboxGateway } from './server.js';

/**
 * What "Alipay" holds, carried from one sandbox session to the next (the demo keeps it beside its ledger, as the
 * real Alipay keeps what it was sent): the borrow points it holds, the worker contracts it holds, and what became
 * of each seeded agreement (status and times). No personal data is written: worker contracts keep their number
 * and time only (not real_name, id_card, phone), and agreements keep their state only (the users, logon ids
 * included, come from the seed file each session).
 */
export interface SandboxHoldings {
  version: 1;
  borrowEntities: StoredEntity[];
  workerContracts: StoredContract[];
  agreements: Record<string, Partial<Pick<AgreementRecord, AgreementStateField>>>;
}

/** The fields of a worker contract that are not about a person. */
const CONTRACT_FIELDS_KEPT = ['sign_order_no', 'sign_time'];

export function holdingsOf(gateway: SandboxGateway): SandboxHoldings {
  const agreements: SandboxHoldings['agreements'] = {};
  for (const a of gateway.agreements.all()) {
    const state: Partial<Record<AgreementStateField, string>> = {};
    for (const f of AGREEMENT_STATE_FIELDS) if (a[f] !== undefined) state[f] = a[f];
    agreements[a.agreement_no] = state as SandboxHoldings['agreements'][string];
  }
  const workerContracts = gateway.workerContracts.contracts().map((c) => ({
    ...c, biz: Object.fromEntries(CONTRACT_FIELDS_KEPT.filter((f) => f in c.biz).map((f) => [f, c.biz[f]])),
  }));
  return { version: 1, borrowEntities: gateway.borrowEntities.entities(), workerContracts, agreements };
}

/** Hold again what an earlier session held; an agreement the seed no longer has is left out. */
export function restoreHoldings(gateway: SandboxGateway, h: SandboxHoldings): void {
  gateway.borrowEntities.restore(h.borrowEntities);
  gateway.workerContracts.restore(h.workerContracts);
  for (const [no, state] of Object.entries(h.agreements)) if (gateway.agreements.get(no)) gateway.agreements.update(no, state);
}

/** Read holdings written by saveHoldings; null when there are none (a first session). */
export function loadHoldings(path: string): SandboxHoldings | null {
  if (!existsSync(path)) return null;
  const h = JSON.parse(readFileSync(path, 'utf8')) as SandboxHoldings;
  if (h.version !== 1) throw new Error(`${path}: not sandbox holdings of this version`);
  return h;
}

/** Write them (0600) to a partial file renamed over `path`: a session cut short leaves the previous ones. */
export function saveHoldings(path: string, gateway: SandboxGateway): void {
  const partial = `${path}.partial-${process.pid}`;
  writeFileSync(partial, JSON.stringify(holdingsOf(gateway)) + '\n', { mode: 0o600 });
  renameSync(partial, path);
}
