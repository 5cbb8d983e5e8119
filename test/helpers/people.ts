import { idCardCheckChar } from '../../sources/id-card.js';

/** Made-up people with well-formed identity numbers (valid check digits, real birth dates). */
const SURNAMES = ['张', '王', '李', '赵', '刘', '陈', '杨', '黄', '周', '吴', '欧阳', '司马'];
const GIVEN = ['伟', '芳', '娜', '秀英', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟'];
const REGIONS = ['330106', '110105', '310115', '440305', '510107', '320102'];

export function idCard(i: number): string {
  const region = REGIONS[i % REGIONS.length]!;
  const year = 1960 + (i % 45);
  const month = String(1 + (i % 12)).padStart(2, '0');
  const day = String(1 + (i % 28)).padStart(2, '0');
  const seq = String(100 + (i % 900)).padStart(3, '0');
  const first17 = `${region}${year}${month}${day}${seq}`;
  return first17 + idCardCheckChar(first17);
}

export function phone(i: number): string {
  return `1${['3', '5', '7', '8', '9'][i % 5]}${String(10_000_000 + ((i * 7919) % 89_999_999)).padStart(9, '0')}`;
}

export function person(i: number) {
  return {
    real_name: SURNAMES[i % SURNAMES.length]! + GIVEN[(i * 7) % GIVEN.length]! + (i % 3 === 0 ? GIVEN[(i * 3) % GIVEN.length]! : ''),
    id_card: idCard(i),
    phone: phone(i),
  };
}

export const CONTRACT_COLUMNS = ['sign_order_no', 'sign_time', 'real_name', 'id_card', 'phone', 'payload', 'files'] as const;

export type Contract = Record<(typeof CONTRACT_COLUMNS)[number], string>;

export function contract(i: number, overrides: Partial<Contract> = {}): Contract {
  return {
    sign_order_no: `2024052800355118${String(i).padStart(16, '0')}`,
    sign_time: `2024-05-${String(1 + (i % 28)).padStart(2, '0')} 10:${String(i % 60).padStart(2, '0')}:00`,
    ...person(i),
    payload: JSON.stringify({ policy: `PET-${i}`, pet: i % 2 ? '猫' : '狗', shift: 'night' }),
    files: JSON.stringify([{ fileName: `灵工协议-${i}.pdf`, fileUrl: `https://files.example.com/contracts/${i}.pdf?sig=a%2Bb` }]),
    ...overrides,
  };
}
