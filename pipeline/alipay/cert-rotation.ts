/**
 * Alipay rotates its certificate: answers then name a new one in `alipay_cert_sn`. As the Java SDK does
 * (AbstractAlipayClient.checkResponseCertSign), an answer naming an unknown SN makes the client fetch that
 * certificate with alipay.open.app.alipaycert.download, take it only if it chains to the configured root bundle
 * and is within its validity period, and verify the answer with it. The download answer itself comes unsigned
 * (the official SDKs do not check it): the chain to the root is what makes the certificate trusted.
 *
 * One fetch per SN at a time, however many answers in flight name it. A certificate that does not chain (or is
 * expired, or is not the one asked for) is run-fatal; a fetch that meets the network or a busy gateway leaves
 * the answer's row to be retried (its outcome is unknown until the answer can be verified).
 */
import type { AlipayCertificates } from './certs.js';
import { classifyHttpStatus, networkOutcome, type Exchange, type Outcome } from './classify.js';
import { readAnswer } from './response.js';

export const CERT_DOWNLOAD_METHOD = 'alipay.open.app.alipaycert.download';

export type CertDownload = (sn: string, signal?: AbortSignal) => Promise<Exchange>;

export class CertRotation {
  private readonly underway = new Map<string, Promise<Outcome | null>>();
  /** called with every certificate taken from a download (the run keeps it in the ledger) */
  onCertificate: ((sn: string, pem: string) => void) | undefined;

  constructor(
    private readonly certs: AlipayCertificates,
    private readonly download: CertDownload,
    private readonly clock: () => number,
  ) {}

  /** null once the certificate `sn` names is known (fetched if need be); else the outcome the answer gets. */
  ensure(sn: string, signal?: AbortSignal): Promise<Outcome | null> {
    if (this.certs.has(sn)) return Promise.resolve(null);
    let p = this.underway.get(sn);
    if (!p) {
      p = this.fetch(sn, signal).finally(() => this.underway.delete(sn));
      this.underway.set(sn, p);
    }
    return p;
  }

  private async fetch(sn: string, signal: AbortSignal | undefined): Promise<Outcome | null> {
    const what = `the answer names Alipay certificate ${sn}, which is not --alipay-cert`;
    const retry = (why: string, from?: Outcome): Outcome => ({
      kind: 'transient', code: 'ALIPAY_CERT', verified: false, ...(from?.slowDown ? { slowDown: true } : {}),
      reason: `${what}; fetching it (${CERT_DOWNLOAD_METHOD}) failed: ${why}: outcome unknown, will retry`,
    });
    const fatal = (why: string): Outcome => ({ kind: 'run-fatal', code: 'ALIPAY_CERT', verified: false, reason: `${what}; ${why}: outcome unknown` });
    const ex = await this.download(sn, signal);
    if (ex.failed) return retry(networkOutcome(ex.error, ex.timedOut).reason);
    if (ex.status !== 200) {
      const o = classifyHttpStatus(ex.status);
      return o.kind === 'transient' ? retry(o.reason, o) : fatal(`fetching it failed: ${o.reason}`);
    }
    let fields: Record<string, unknown>;
    try {
      fields = readAnswer(ex.text, CERT_DOWNLOAD_METHOD).fields;
    } catch {
      return retry('its answer is not an answer');
    }
    const code = String(fields.code ?? '');
    if (code === '20000' || code === '40005' || (code === '40004' && /SYSTEM_ERROR$/.test(String(fields.sub_code ?? '')))) {
      return retry(`${code} ${String(fields.sub_code ?? '')}`.trim());
    }
    const content = fields.alipay_cert_content;
    if (code !== '10000' || typeof content !== 'string') {
      return fatal(`Alipay did not give it (${CERT_DOWNLOAD_METHOD} answered ${code || 'no code'} ${String(fields.sub_code ?? '')} ${String(fields.sub_msg ?? '')})`.replace(/\s+\)/, ')'));
    }
    const pem = Buffer.from(content, 'base64').toString('utf8');
    const taken = this.certs.adopt(pem, this.clock());
    if ('problem' in taken) return fatal(`the certificate Alipay gave is not trusted: ${taken.problem}; check --alipay-root-cert, and that --gateway is Alipay`);
    if (taken.sn !== sn) return fatal(`Alipay gave certificate ${taken.sn} instead`);
    this.onCertificate?.(sn, pem);
    return null;
  }
}
