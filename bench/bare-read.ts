/** The floor for reading: a bare csv-parse streaming read of a file, counting records. Prints JSON. */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';

const file = process.argv[2]!;
const started = performance.now();
let rows = 0;
for await (const _ of createReadStream(file).pipe(parse({ bom: true, columns: true }))) rows++;
process.stdout.write(JSON.stringify({ rows, ms: performance.now() - started }) + '\n');
