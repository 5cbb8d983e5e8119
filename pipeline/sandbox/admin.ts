/**
 * The admin endpoints under /_sandbox/: the state of every method, the request log, the notifications sent,
 * reset, faults, behaviours, POST /_sandbox/rotate (certificate mode) and POST /_sandbox/notify (README.md).
 */
import type { ServerResponse } from 'node:http';
import { beijingTimestamp } from '../alipay/sign.js';
import { BEHAVIOUR_NAMES, type BehaviourName, type Behaviours } from './behaviours.js';
import type { SandboxCertMode } from './cert-mode.js';
import type { FaultOptions, FaultPlan } from './faults.js';
import type { AgreementRecord, AgreementStore } from './methods/agreements.js';
import type { SandboxMethod } from './methods/types.js';
import type { NoticeType } from './notify-sender.js';
import type { Notifier } from './notifier.js';
import type { LoggedRequest } from './options.js';
import type { CallQuota, QuotaLimits } from './quota.js';

/** What the admin endpoints read and change: the gateway's own parts. */
export interface AdminTarget {
  readonly methods: ReadonlyMap<string, SandboxMethod>;
  readonly requests: readonly LoggedRequest[];
  readonly faults: FaultPlan;
  readonly behaviours: Behaviours;
  readonly agreements: AgreementStore;
  readonly notifier: Notifier;
  readonly clock: () => number;
  readonly quota: CallQuota;
  readonly certMode: SandboxCertMode | undefined;
  reset(): void;
}

const LIMITS: readonly (keyof QuotaLimits)[] = ['perSecond', 'perDay', 'merchantPerSecond', 'merchantPerDay'];

/**
 * /_sandbox/quota: GET the limits and what each was used today; POST {"reset": "day"} starts every day's count
 * again (the switch that stands for 00:00 Beijing time, so tests never wait for it), POST {"perSecond": 20, …}
 * sets limits (null or 0: none).
 */
function adminQuota(gw: AdminTarget, method: string, body: string): unknown {
  if (method === 'POST') {
    const given = JSON.parse(body || '{}') as Record<string, unknown>;
    for (const [k, v] of Object.entries(given)) {
      if (k === 'reset' ? v !== 'day' : !LIMITS.includes(k as keyof QuotaLimits) || !(v === null || (typeof v === 'number' && v >= 0))) {
        throw new Error(`expected {"reset": "day"} and/or limits {${LIMITS.map((l) => `"${l}": n`).join(', ')}}`);
      }
    }
    if (given.reset === 'day') gw.quota.resetDay();
    for (const l of LIMITS) if (l in given) gw.quota.limits[l] = (given[l] as number | null) || undefined;
  }
  return { limits: gw.quota.limits, today: gw.quota.today(gw.clock()) };
}

export function adminRequest(gw: AdminTarget, path: string, method: string, body: string, res: ServerResponse): void {
  const json = (v: unknown, status = 200) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(v));
  };
  if (path === '/_sandbox/state') {
    const out: Record<string, unknown> = {};
    for (const [name, m] of gw.methods) out[name] = m.snapshot();
    return json(out);
  }
  if (path === '/_sandbox/requests') return json(gw.requests);
  if (path === '/_sandbox/notifications') return json(gw.notifier.sent);
  if (path === '/_sandbox/notify' && method === 'POST') {
    try {
      const sent = adminNotify(gw, JSON.parse(body || '{}') as unknown);
      return json({ ok: true, notices: sent });
    } catch (err) {
      return json({ error: (err as Error).message }, 400);
    }
  }
  if (path === '/_sandbox/quota') {
    try {
      return json(adminQuota(gw, method, body));
    } catch (err) {
      return json({ error: (err as Error).message }, 400);
    }
  }
  if (path === '/_sandbox/rotate' && method === 'POST') {
    // certificate mode: {"to": "next"} (a new certificate under the root) or {"to": "untrusted"} (one outside it)
    const to = (JSON.parse(body || '{}') as { to?: unknown }).to ?? 'next';
    if (!gw.certMode) return json({ error: 'not in certificate mode (start it with --cert-mode)' }, 400);
    if (to !== 'next' && to !== 'untrusted') return json({ error: 'expected {"to": "next" | "untrusted"}' }, 400);
    return json({ ok: true, alipay_cert_sn: gw.certMode.rotate(to) });
  }
  if (path === '/_sandbox/reset' && method === 'POST') {
    gw.reset();
    return json({ ok: true });
  }
  if (path === '/_sandbox/faults' && method === 'POST') {
    try {
      gw.faults.set(JSON.parse(body || '{}') as FaultOptions);
      return json({ ok: true });
    } catch (err) {
      return json({ error: (err as Error).message }, 400);
    }
  }
  if (path === '/_sandbox/behaviours') {
    if (method === 'POST') {
      try {
        const given = JSON.parse(body || '{}') as Record<string, unknown>;
        for (const [k, v] of Object.entries(given)) {
          if (!(BEHAVIOUR_NAMES as readonly string[]).includes(k) || typeof v !== 'boolean') {
            throw new Error(`expected {"<behaviour>": true|false}, behaviours: ${BEHAVIOUR_NAMES.join(', ')}`);
          }
        }
        for (const [k, v] of Object.entries(given)) gw.behaviours[k as BehaviourName] = v as boolean;
      } catch (err) {
        return json({ error: (err as Error).message }, 400);
      }
    }
    return json(gw.behaviours);
  }
  json({ error: 'unknown admin path' }, 404);
}

/**
 * POST /_sandbox/notify. One notice:
 *   {"url": "...", "agreement_no": "...", "type": "sign"|"unsign", "delay_ms": 0, "age_ms": 0}
 * or several for one agreement, each built and dated when this request arrives and sent after its own delay:
 *   {"url": "...", "agreement_no": "...", "notices": [{"type": "unsign"}, {"type": "sign", "age_ms": 60000, "delay_ms": 200}]}
 * type defaults to "sign". "unsign" cancels the agreement first (status UNSIGN, invalid_time now; every method then
 * answers USER_AGREEMENT_NOT_EXIST for it) and sends dut_user_unsign. age_ms dates a notice that much before now
 * (notify_time), so the example sends the newer unsign notice first and the older sign notice 200 ms after it.
 */
function adminNotify(gw: AdminTarget, input: unknown): { type: NoticeType; notify_time: string; delay_ms: number }[] {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new Error('expected a JSON object');
  const o = input as Record<string, unknown>;
  const url = o.url;
  const no = o.agreement_no;
  if (typeof url !== 'string' || !/^https?:\/\//.test(url) || typeof no !== 'string' || !gw.agreements.get(no)) {
    throw new Error('give url (http or https) and a known agreement_no');
  }
  const list = Array.isArray(o.notices) ? (o.notices as unknown[]) : [{ type: o.type, delay_ms: o.delay_ms, age_ms: o.age_ms }];
  const plan = list.map((n, i) => {
    const e = (n && typeof n === 'object' ? n : {}) as Record<string, unknown>;
    const type = e.type ?? 'sign';
    const num = (v: unknown, name: string) => {
      if (v === undefined) return 0;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`notices[${i}].${name} must be a number of ms, 0 or more`);
      return v;
    };
    if (type !== 'sign' && type !== 'unsign') throw new Error(`notices[${i}].type must be "sign" or "unsign"`);
    return { type: type as NoticeType, delay_ms: num(e.delay_ms, 'delay_ms'), age: num(e.age_ms, 'age_ms') };
  });
  const now = gw.clock();
  return plan.map((n) => {
    const a = n.type === 'unsign' ? gw.agreements.unsign(no, now) : (gw.agreements.get(no) as AgreementRecord);
    const notifyTime = beijingTimestamp(now - n.age);
    void gw.notifier.notify(url, a, n.type, { delayMs: n.delay_ms, notifyTime });
    return { type: n.type, notify_time: notifyTime, delay_ms: n.delay_ms };
  });
}
