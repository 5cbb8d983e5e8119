/** Realistic borrow-entity rows for tests: Chinese names, real coordinates, valid by default. */
export const COLUMNS = [
  'category_code', 'entity_code', 'longitude', 'latitude', 'entity_name', 'address_desc', 'office_hours_desc', 'contact_number',
  'collect_rent', 'rent_desc', 'can_borrow', 'can_borrow_cnt', 'total_borrow_cnt', 'upload_time',
] as const;

export type Row = Record<string, string>;

export function entity(i: number, overrides: Row = {}): Row {
  return {
    category_code: i % 2 ? 'power_bank' : 'umbrella',
    entity_code: `E${String(i).padStart(6, '0')}`,
    longitude: (120 + (i % 100) / 1000).toFixed(6),
    latitude: (30 + (i % 50) / 1000).toFixed(6),
    entity_name: `${i % 2 ? '共享充电宝' : '爱心雨伞'}${i}号`,
    address_desc: `杭州市西湖区文三路${i}号`,
    office_hours_desc: '09:00-22:00',
    contact_number: '0571-26888888',
    collect_rent: 'Y',
    rent_desc: '5元/小时',
    can_borrow: 'Y',
    can_borrow_cnt: String(i % 10),
    total_borrow_cnt: '10',
    upload_time: '2024-05-01 10:00:00',
    ...overrides,
  };
}

export function cell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

export function toCsv(rows: Row[], columns: readonly string[] = COLUMNS, o: { bom?: boolean; eol?: string } = {}): string {
  const eol = o.eol ?? '\n';
  const lines = [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c] ?? '')).join(','))];
  return (o.bom ? '\uFEFF' : '') + lines.join(eol) + eol;
}

export function entities(n: number, from = 0, overrides: Row = {}): Row[] {
  return Array.from({ length: n }, (_, k) => entity(from + k, overrides));
}
