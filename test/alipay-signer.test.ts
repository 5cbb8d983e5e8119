import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AlipaySdk } from 'alipay-sdk';
import { beijingTimestamp, parseBeijingTimestamp, signParams, signString, verifyText } from '../pipeline/alipay/sign.js';
import { inBeijingTime } from './helpers/tz.js';
import { startSandbox, testKeys } from './helpers/sandbox.js';

const pem = (k: import('node:crypto').KeyObject) =>
  k.type === 'private' ? (k.export({ format: 'pem', type: 'pkcs1' }) as string) : (k.export({ format: 'pem', type: 'spki' }) as string);

test('sign string: sorted by key, raw values, empty values and sign left out', () => {
  const s = signString({ timestamp: '2024-01-02 03:04:05', app_id: '1', sign: 'x', notify_url: '', biz_content: '{"a":"b c&d"}', method: 'm' });
  assert.equal(s, 'app_id=1&biz_content={"a":"b c&d"}&method=m&timestamp=2024-01-02 03:04:05');
});

test('our request signature verifies with the official alipay-sdk verifier (RSA2 and RSA)', () => {
  const { keys } = testKeys();
  for (const signType of ['RSA2', 'RSA'] as const) {
    const params: Record<string, string> = {
      app_id: '2021000000000001', method: 'zhima.merchant.borrow.entity.upload', format: 'JSON', charset: 'utf-8',
      sign_type: signType, timestamp: beijingTimestamp(Date.now()), version: '1.0',
      biz_content: JSON.stringify({ entity_name: '爱心雨伞', address_desc: '杭州市西湖区文三路478号, 近地铁' }),
    };
    params.sign = signParams(params, keys.appPrivateKey, signType);
    // The SDK verifies with the "Alipay public key" it is given: here, our app's public key.
    const sdk = new AlipaySdk({ appId: params.app_id!, privateKey: pem(keys.alipayPrivateKey), alipayPublicKey: pem(keys.appPublicKey), signType });
    assert.equal(sdk.checkNotifySignV2({ ...params }), true, `${signType} signature must verify in the SDK`);
    assert.equal(sdk.checkNotifySignV2({ ...params, biz_content: params.biz_content!.replace('爱心', '爱') }), false);
  }
});

test('a request signed by the official SDK verifies with our verifier', () => {
  const { keys } = testKeys();
  const sdk = new AlipaySdk({ appId: '2021000000000001', privateKey: pem(keys.appPrivateKey), alipayPublicKey: pem(keys.alipayPublicKey) });
  const query = sdk.sdkExecute('zhima.merchant.borrow.entity.upload', { bizContent: { entity_code: 'E1', entity_name: '充电宝' } });
  const params = Object.fromEntries(new URLSearchParams(query));
  assert.ok(params.sign);
  assert.equal(verifyText(signString(params), params.sign!, keys.appPublicKey, 'RSA2'), true);
});

test('the official SDK is accepted by our sandbox and its answer passes the SDK\'s own validateSign', async () => {
  const sb = await startSandbox();
  await inBeijingTime(async () => {
    const sdk = new AlipaySdk({
      appId: sb.gateway.appId, privateKey: pem(sb.keys.appPrivateKey), alipayPublicKey: pem(sb.keys.alipayPublicKey), gateway: sb.url, camelcase: false,
    });
    const res = await sdk.exec('zhima.merchant.borrow.entity.upload', {
      bizContent: {
        product_code: 'w1010100000000002858', category_code: 'umbrella', entity_code: 'SDK-1', longitude: '120.1', latitude: '30.2',
        entity_name: '爱心雨伞', collect_rent: 'Y', can_borrow: 'Y', can_borrow_cnt: '1', total_borrow_cnt: '2', upload_time: '2024-05-01 10:00:00',
      },
    }, { validateSign: true });
    assert.equal(res.code, '10000');
    assert.equal(sb.gateway.borrowEntities.entities()[0]?.entity_code, 'SDK-1');
  });
});

test('timestamps are Beijing time whatever the host TZ', () => {
  const at = Date.UTC(2024, 0, 31, 20, 30, 5); // 2024-02-01 04:30:05 in Beijing
  const module = new URL('../pipeline/alipay/sign.js', import.meta.url).href;
  for (const tz of ['America/Los_Angeles', 'UTC', 'Asia/Shanghai', 'Pacific/Chatham']) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', `import { beijingTimestamp } from ${JSON.stringify(module)}; process.stdout.write(beijingTimestamp(${at}))`], {
      env: { ...process.env, TZ: tz },
      cwd: fileURLToPath(new URL('.', import.meta.url)),
    }).toString();
    assert.equal(out, '2024-02-01 04:30:05', `TZ=${tz}`);
  }
  assert.equal(parseBeijingTimestamp('2024-02-01 04:30:05'), at);
  assert.ok(Number.isNaN(parseBeijingTimestamp('2024-02-30 04:30:05')));
});

test('a CLI run under TZ=America/Los_Angeles and TZ=UTC is accepted by the gateway\'s timestamp check', async () => {
  const { runCli } = await import('./helpers/cli.js');
  const { tempDir, writeFile } = await import('./helpers/tmp.js');
  const sb = await startSandbox({ timestampToleranceMs: 60_000 });
  const dir = tempDir();
  for (const [i, tz] of ['America/Los_Angeles', 'UTC'].entries()) {
    const csv = writeFile(dir, `tz${i}.csv`,
      'category_code,entity_code,longitude,latitude,entity_name,collect_rent,can_borrow,can_borrow_cnt,total_borrow_cnt,upload_time\n' +
      `umbrella,TZ${i},120.1,30.2,伞,Y,Y,1,1,2024-05-01 10:00:00\n`);
    const r = await runCli(['upload', 'borrow-entities', csv, ...sb.flags, '--ledger', `${dir}/l${i}.db`, '--json'], { env: { TZ: tz } });
    assert.equal(r.code, 0, `TZ=${tz}: ${r.stderr}`);
  }
  assert.deepEqual(sb.gateway.requests.map((r) => r.code), ['10000', '10000']);
});
