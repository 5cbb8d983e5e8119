import type { AlipayClient } from '../alipay/client.js';
import type { Ledger } from '../../state/ledger.js';
import type { Logger } from '../log.js';

/**
 * Certificate mode and the ledger: the Alipay certificates earlier runs fetched after a rotation are taken again
 * (each re-checked against the root bundle and its validity; one that no longer passes is left aside), a newly
 * fetched one is kept, and when the certificates in use end is written for `status`.
 */
export function attachCertificates(client: AlipayClient | null, ledger: Ledger, logger: Logger, now: number): void {
  const certs = client?.certificates;
  const rotation = client?.rotation;
  if (!certs || !rotation) return;
  for (const pem of ledger.keptCertificates()) certs.adopt(pem, now);
  const record = () => ledger.setCertificateExpiries(JSON.stringify(certs.expiries()));
  record();
  rotation.onCertificate = (sn, pem) => {
    ledger.keepCertificate(sn, pem);
    record();
    const to = certs.expiries().find((e) => e.sn === sn)?.validTo.slice(0, 10);
    logger.info(`Alipay now signs with certificate ${sn} (valid until ${to}): fetched, checked against --alipay-root-cert and kept in the ledger`);
  };
}
