/**
 * What a merchant would otherwise write: the official alipay-sdk with p-limit at a fixed concurrency, no ledger,
 * every answer's signature validated. Run with TZ=Asia/Shanghai (the SDK stamps requests with host-local time).
 * argv: gateway appId privateKeyPem alipayPublicKeyPem csvFile concurrency
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import pLimit from 'p-limit';
import { AlipaySdk } from 'alipay-sdk';

const [gateway, appId, privateKeyFile, publicKeyFile, file, concurrency] = process.argv.slice(2) as [string, string, string, string, string, string];
const sdk = new AlipaySdk({
  appId, gateway, privateKey: readFileSync(privateKeyFile, 'utf8'), alipayPublicKey: readFileSync(publicKeyFile, 'utf8'), camelcase: false,
});
const rows = parse(readFileSync(file), { columns: true, bom: true }) as Record<string, string>[];
const limit = pLimit(Number(concurrency));
const started = performance.now();
let ok = 0;
let failed = 0;
await Promise.all(
  rows.map((r) =>
    limit(async () => {
      const biz: Record<string, string> = { product_code: 'w1010100000000002858' };
      for (const [k, v] of Object.entries(r)) if (v !== '') biz[k] = v;
      try {
        const res = await sdk.exec('zhima.merchant.borrow.entity.upload', { bizContent: biz }, { validateSign: true });
        if (res.code === '10000') ok++;
        else failed++;
      } catch {
        failed++;
      }
    }),
  ),
);
process.stdout.write(JSON.stringify({ ok, failed, ms: performance.now() - started }) + '\n');
