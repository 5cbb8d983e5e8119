import type { AlipayClient } from '../alipay/client.js';
import type { AnyLedger } from '../../state/open-ledger.js';
import type { Logger } from '../log.js';

/**
 * Certificate mode and the ledger: the Alipay certificates earlier runs fetched after a rotation are taken again
 * (each re-checked against the root bundle and its validity; one that no longer passes is left aside), a newly
 * fetched one is kept, and when the certificates in use end is written for `status`.
 */
export async function attachCertificates(client: AlipayClient | null, ledger: AnyLedger, logger: Logger, now: number): Promise<void> {
  const certs = client?.certificates;
  const rotation = client?.rotation;
  if (!certs || !rotation) return;
  for (const pem of await ledger.keptCertificates()) certs.adopt(pem, now);
  const record = () => ledger.setCertificateExpiries(JSON.stringify(certs.expiries()));
  await record();
  rotation.onCertificate = (sn, pem) => {
    // (a PostgreSQL ledger writes it a moment later; should that fail, the next run fetches it again)
    void Promise.resolve(ledger.keepCertificate(sn, pem)).then(record).catch((err: unknown) => logger.warn(`could not keep certificate ${sn} in the ledger: ${(err as Error).message}`));
    const to = certs.expiries().find((e) => e.sn === sn)?.validTo.slice(0, 10);
    logger.info(`Alipay now signs with certificate ${sn} (valid until ${to}): fetched, checked against --alipay-root-cert and kept in the ledger`);
  };
}
