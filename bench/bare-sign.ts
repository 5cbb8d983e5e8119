/**
 * The floor of a signing client: one RSA2 signature with a pre-parsed key over a typical sign string, in its
 * own process. argv: privateKeyFile signString-file count. Prints JSON {cpuMsPerSign}.
 */
import { readFileSync } from 'node:fs';
import { sign } from 'node:crypto';
import { loadPrivateKey } from '../pipeline/alipay/keys.js';

const [keyFile, textFile, count] = process.argv.slice(2) as [string, string, string];
const key = loadPrivateKey(keyFile);
const data = Buffer.from(readFileSync(textFile, 'utf8'));
const n = Number(count);
for (let i = 0; i < 50; i++) sign('sha256', data, key); // warm up
const before = process.cpuUsage();
for (let i = 0; i < n; i++) sign('sha256', data, key);
const used = process.cpuUsage(before);
process.stdout.write(JSON.stringify({ cpuMsPerSign: (used.user + used.system) / 1000 / n }) + '\n');
