import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Answered, LiveState, RowOutcome, RunObserver, StagedCounts } from './run/observe.js';
import { perSecond } from './format.js';
import { listenError } from './serve.js';

/**
 * `--metrics-port`: Prometheus text on http://127.0.0.1:PORT/metrics while a run (or `notify serve`) lasts, with
 * prom-client, the standard Node client (its exposition format, histogram buckets and process metrics are what
 * every Prometheus setup expects; writing the text format by hand would be a second, untested copy of it).
 * Loopback only: the numbers say how much a merchant sends and when, and nothing here asks who is scraping.
 */
export const METRICS_HOST = '127.0.0.1';

/** Latency buckets (seconds): Alipay answers in tens to hundreds of ms; a timeout is 15 s by default. */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];
/** the window of the measured send rate */
const RATE_WINDOW_MS = 10_000;

export interface MetricsServer {
  registry: Registry;
  /** http://127.0.0.1:PORT/metrics */
  url: string;
  close(): Promise<void>;
}

/** Serve a new registry (with the process's default metrics) on loopback; a port that cannot be bound is exit 2. */
export async function serveMetrics(port: number, what: string): Promise<MetricsServer> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'alipay_sync_' });
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('see /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(err, `${what} --metrics-port`, METRICS_HOST, port, '--metrics-port')));
    server.listen(port, METRICS_HOST, () => resolve());
  });
  server.unref();
  const a = server.address() as AddressInfo;
  return {
    registry,
    url: `http://${METRICS_HOST}:${a.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The metrics of one run of one dataset, fed by the send loop (pipeline/run/observe.ts). */
export function runMetrics(registry: Registry, dataset: string): RunObserver {
  const labels = { dataset };
  const rows = new Counter({
    name: 'alipay_sync_rows_total', help: 'Rows by outcome: read, rejected and unchanged while staging; uploaded, failed, pending (left with an unknown outcome) while sending',
    labelNames: ['dataset', 'outcome'], registers: [registry],
  });
  const requests = new Counter({
    name: 'alipay_sync_requests_total', help: 'Requests answered, by outcome kind (success, transient, row-fatal, run-fatal, reconcile), gateway code and sub_code',
    labelNames: ['dataset', 'kind', 'code', 'sub_code'], registers: [registry],
  });
  const slowDowns = new Counter({ name: 'alipay_sync_slow_downs_total', help: 'Answers asking to slow down (40005, HTTP 429)', labelNames: ['dataset'], registers: [registry] });
  const latency = new Histogram({
    name: 'alipay_sync_request_duration_seconds', help: 'Time from sending a request to its judged answer', labelNames: ['dataset'],
    buckets: LATENCY_BUCKETS, registers: [registry],
  });
  let live: LiveState | null = null;
  let pending = 0;
  const starts: number[] = [];
  new Gauge({
    name: 'alipay_sync_rate_limit', help: 'The request rate the limiter allows now, per second (+Inf: no ceiling); lowered by 40005',
    labelNames: ['dataset'], registers: [registry],
    collect() {
      if (live) this.set(labels, live.rate());
    },
  });
  let sendingSince: number | null = null;
  new Gauge({
    name: 'alipay_sync_send_rate', help: 'Requests started per second, over the last 10 s (over the time sending has taken, at least 1 s, before that)', labelNames: ['dataset'], registers: [registry],
    collect() {
      const now = Date.now();
      while (starts.length && now - starts[0]! > RATE_WINDOW_MS) starts.shift();
      // 300 requests in the first 3 s of sending are 100/s, not 30/s over a window that has not passed yet
      const span = sendingSince === null ? RATE_WINDOW_MS : Math.min(RATE_WINDOW_MS, Math.max(1000, now - sendingSince));
      this.set(labels, perSecond(starts.length, span)!);
    },
  });
  new Gauge({
    name: 'alipay_sync_in_flight', help: 'Requests sent and not yet answered', labelNames: ['dataset'], registers: [registry],
    collect() {
      this.set(labels, live ? live.inFlight() : 0);
    },
  });
  new Gauge({
    name: 'alipay_sync_rows_to_send', help: 'Rows pending when sending started, less those that reached an outcome since', labelNames: ['dataset'], registers: [registry],
    collect() {
      this.set(labels, pending);
    },
  });
  const count = (outcome: string, n = 1) => rows.inc({ dataset, outcome }, n);
  // every outcome exists from the start at 0, so that rate() and alerts see a series before the first event
  for (const outcome of ['read', 'rejected', 'unchanged', 'uploaded', 'failed', 'pending']) count(outcome, 0);
  slowDowns.inc(labels, 0);
  return {
    staged(c: StagedCounts) {
      count('read', c.read);
      count('rejected', c.rejected);
      count('unchanged', c.unchanged);
    },
    sending(l: LiveState, toSend: number) {
      live = l;
      pending = toSend;
      sendingSince = Date.now();
    },
    requestStarted() {
      starts.push(Date.now());
      if (starts.length > 100_000) starts.splice(0, starts.length - 50_000);
    },
    answered(a: Answered) {
      requests.inc({ dataset, kind: a.kind, code: a.code, sub_code: a.subCode ?? '' });
      if (a.slowDown) slowDowns.inc(labels);
      latency.observe(labels, a.durationMs / 1000);
    },
    rowDone(outcome: RowOutcome) {
      count(outcome);
      pending = Math.max(0, pending - 1);
    },
  };
}

/** `notify serve`: notifications by what was done with them (applied, stale, resend, ignored, refused). */
export function notifyMetrics(registry: Registry): (result: string) => void {
  const c = new Counter({
    name: 'alipay_sync_notifications_total', help: 'Notifications received, by result: applied, stale (older than the state held), resend, ignored (a type not handled), refused (not verified: answered fail)',
    labelNames: ['result'], registers: [registry],
  });
  for (const result of ['applied', 'stale', 'resend', 'ignored', 'refused']) c.inc({ result }, 0);
  return (result) => c.inc({ result });
}
