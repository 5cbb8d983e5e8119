import type { LedgerCertificates } from '../port.js';
import type { PgConnection } from './connection.js';
import { getMeta, setMeta } from './meta.js';

const KEPT = 'alipay_cert:';
const EXPIRIES = 'certificate_expiries';

/** Certificate mode's records in the meta table, as in the SQLite ledger (state/sqlite/certificates.ts). */
export class PgCertificates implements LedgerCertificates<'async'> {
  constructor(private readonly c: PgConnection) {}

  async keptCertificates(): Promise<string[]> {
    const rows = await this.c.query<{ value: string }>('SELECT value FROM meta WHERE key >= $1 AND key < $2 ORDER BY key', [KEPT, KEPT + '\uffff']);
    return rows.map((r) => r.value);
  }

  keepCertificate(sn: string, pem: string): Promise<void> {
    return setMeta(this.c.query, KEPT + sn, pem);
  }

  setCertificateExpiries(json: string): Promise<void> {
    return setMeta(this.c.query, EXPIRIES, json);
  }

  certificateExpiries(): Promise<string | undefined> {
    return getMeta(this.c.query, EXPIRIES);
  }
}
