import type { LedgerCertificates } from '../port.js';
import { getMeta, setMeta } from './meta.js';
import type { SqliteConnection } from './open.js';

const KEPT = 'alipay_cert:';
const EXPIRIES = 'certificate_expiries';

/**
 * Certificate mode's records, in the meta table (no schema change): the Alipay certificates fetched after a
 * rotation (meta `alipay_cert:<sn>` = the PEM Alipay gave, public material), and when the certificates in use
 * end (meta `certificate_expiries`, JSON written by the pipeline) for `status`.
 */
export class SqliteCertificates implements LedgerCertificates {
  constructor(private readonly conn: SqliteConnection) {}

  keptCertificates(): string[] {
    const rows = this.conn.db.prepare('SELECT value FROM meta WHERE key >= ? AND key < ? ORDER BY key').all(KEPT, KEPT + '\uffff') as { value: string }[];
    return rows.map((r) => r.value);
  }

  keepCertificate(sn: string, pem: string): void {
    setMeta(this.conn.db, KEPT + sn, pem);
  }

  setCertificateExpiries(json: string): void {
    setMeta(this.conn.db, EXPIRIES, json);
  }

  certificateExpiries(): string | undefined {
    return getMeta(this.conn.db, EXPIRIES);
  }
}
