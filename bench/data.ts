import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { prng } from '../pipeline/sandbox/faults.js';

const CITIES = ['杭州市西湖区文三路', '上海市浦东新区世纪大道', '北京市朝阳区建国路', '深圳市南山区科技园', '成都市锦江区春熙路', '广州市天河区天河路'];
const NAMES = ['爱心雨伞', '共享充电宝', '街电', '便民雨伞', '移动电源站'];
export const HEADER = 'category_code,entity_code,longitude,latitude,entity_name,address_desc,office_hours_desc,contact_number,collect_rent,rent_desc,can_borrow,can_borrow_cnt,total_borrow_cnt,upload_time';

function pad(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/**
 * A realistic borrow-entity export: Chinese names and addresses (some quoted, with a comma), coordinates,
 * counts, and `repeatShare` of the rows repeating an earlier key with another upload_time (older or newer).
 * Returns the number of distinct keys.
 */
export async function writeEntities(path: string, rows: number, o: { seed?: number; repeatShare?: number; keyOffset?: number; token?: string } = {}): Promise<number> {
  const random = prng(o.seed ?? 42); // seeded: every run measures the same data
  const out = createWriteStream(path);
  // with `token`: every row is sent for that merchant (the app_auth_token column)
  const tail = o.token ? `,${o.token}\n` : '\n';
  out.write(HEADER + (o.token ? ',app_auth_token' : '') + '\n');
  let keys = 0;
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const repeat = keys > 0 && random() < (o.repeatShare ?? 0.1);
    const k = repeat ? Math.floor(random() * keys) : keys++;
    const id = k + (o.keyOffset ?? 0);
    const category = id % 3 === 0 ? 'umbrella' : 'power_bank';
    const city = CITIES[id % CITIES.length]!;
    const address = id % 7 === 0 ? `"${city}${id % 900}号, 近地铁口"` : `${city}${id % 900}号`;
    const total = 10 + (id % 40);
    const day = 1 + Math.floor(random() * 28);
    const time = `2025-${pad(1 + (id % 12))}-${pad(day)} ${pad(Math.floor(random() * 24))}:${pad(Math.floor(random() * 60))}:${pad(Math.floor(random() * 60))}`;
    chunk +=
      `${category},E${String(id).padStart(9, '0')},${(73.66 + (id % 6139) / 100).toFixed(6)},${(3.86 + (id % 4969) / 100).toFixed(6)},` +
      `${NAMES[id % NAMES.length]}${id % 1000}号,${address},09:00-22:00,0571-${String(26000000 + (id % 999999))},` +
      `${id % 2 ? 'Y' : 'N'},${1 + (id % 9)}元/小时,Y,${Math.floor(random() * total)},${total},${time}${tail}`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.write(chunk);
  await new Promise<void>((resolve) => out.end(resolve));
  return keys;
}
