/**
 * The gateway's checks of a request's common parameters, in Alipay's order: what is missing, the app, the method,
 * format, version, charset, sign_type, timestamp, the request signature, app_auth_token, the app's permissions,
 * and last that biz_content is a JSON object. Each refusal is the gateway's own error answer (4000x, 20001).
 */
import { parseBeijingTimestamp, signString, verifyText, isSignType, type SignType } from '../alipay/sign.js';
import type { Behaviours } from './behaviours.js';
import { openContent } from './content-crypto.js';
import type { MethodAnswer } from './methods/types.js';
import { ALIPAYCERT_DOWNLOAD } from './pages/index.js';
import type { SandboxOptions } from './options.js';

export interface CommonCheckSetup {
  /** the app this gateway knows */
  appId: string;
  options: Pick<SandboxOptions, 'appPublicKey' | 'appAuthTokens' | 'expiredAppAuthTokens' | 'timestampToleranceMs' | 'forbiddenMethods' | 'certMode' | 'contentKey'>;
  behaviours?: Behaviours;
}

/**
 * The parsed biz_content of a request that passed (`encrypted`: it came encrypted), or the answer that refuses it
 * (signed unless `signed` is false).
 */
export type CommonCheck = { biz: Record<string, unknown>; encrypted: boolean } | { refusal: MethodAnswer; signed: boolean };

/**
 * Check `params` arriving at `at` for a method the gateway has (`known`) or not; `signType` is the algorithm the
 * answer is signed with.
 */
export function checkCommonParams(setup: CommonCheckSetup, params: Record<string, string>, at: number, known: boolean, signType: SignType): CommonCheck {
  const { options } = setup;
  const method = params.method ?? '';
  const refuse = (refusal: MethodAnswer, signed = true): CommonCheck => ({ refusal, signed });
  const invalid = (sub: string, subMsg: string) => refuse({ code: '40002', msg: 'Invalid Arguments', sub_code: sub, sub_msg: subMsg });

  for (const p of ['app_id', 'method', 'sign_type', 'sign', 'timestamp', 'version', 'charset'] as const) {
    if (!params[p]) {
      const sub = p === 'sign' ? 'isv.missing-signature' : p === 'sign_type' ? 'isv.missing-signature-type' : `isv.missing-${p.replace('_', '-')}`;
      return refuse({ code: '40001', msg: 'Missing Required Arguments', sub_code: sub, sub_msg: `缺少参数 ${p}` });
    }
  }
  const { app_id: appId, sign_type: requestSignType, timestamp, charset, sign } = params as { app_id: string; sign_type: string; timestamp: string; charset: string; sign: string };
  if (appId !== setup.appId) {
    // Alipay cannot tell which key to sign with for an unknown app: this one comes unsigned.
    return refuse({ code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-app-id', sub_msg: '无效的AppID参数' }, false);
  }
  if (!known) return invalid('isv.invalid-method', `不存在的方法名: ${method}`);
  if (params.format && params.format.toUpperCase() !== 'JSON') return invalid('isv.invalid-format', '无效的数据格式');
  if (params.version !== '1.0') return invalid('isv.invalid-version', '无效的版本号');
  if (charset.toLowerCase() !== 'utf-8') return invalid('isv.invalid-charset', '字符集错误');
  if (!isSignType(requestSignType)) return invalid('isv.invalid-signature-type', '无效的签名类型');
  const sent = parseBeijingTimestamp(timestamp);
  const tolerance = options.timestampToleranceMs ?? 15 * 60_000;
  if (Number.isNaN(sent) || Math.abs(sent - at) > tolerance) {
    return invalid('isv.invalid-timestamp', `非法的时间戳参数 (请求时间 ${timestamp}，网关为北京时间)`);
  }
  // Certificate mode: the request names the app certificate and the root bundle the app holds.
  const certs = options.certMode;
  if (certs) {
    if (!params.app_cert_sn) return invalid('isv.missing-app-cert-sn', '缺少应用公钥证书序列号');
    if (!params.alipay_root_cert_sn) return invalid('isv.missing-alipay-root-cert-sn', '缺少支付宝根证书序列号');
    if (params.app_cert_sn !== certs.appCertSn) return invalid('isv.app-cert-not-exist', '应用公钥证书不存在');
    if (params.alipay_root_cert_sn !== certs.rootCertSn) return invalid('isv.invalid-alipay-root-cert-sn', '无效的支付宝根证书序列号');
  }
  if (!verifyText(signString(params), sign, options.appPublicKey, signType)) {
    return invalid('isv.invalid-signature', `验签出错，网关生成的验签字符串为：${signString(params)}`);
  }
  const tokens = options.appAuthTokens;
  if (params.app_auth_token && options.expiredAppAuthTokens?.includes(params.app_auth_token)) {
    return refuse({ code: '20001', msg: 'Insufficient Token Permissions', sub_code: 'aop.app-auth-token-time-out', sub_msg: '应用授权令牌已过期' });
  }
  if (params.app_auth_token && tokens && !tokens.includes(params.app_auth_token)) {
    return refuse({ code: '20001', msg: 'Insufficient Token Permissions', sub_code: 'aop.invalid-app-auth-token', sub_msg: '无效的应用授权令牌' });
  }
  if (options.forbiddenMethods?.includes(method)) {
    return refuse({ code: '40006', msg: 'Insufficient Permissions', sub_code: 'isv.insufficient-isv-permissions', sub_msg: 'ISV权限不足' });
  }
  // Content encryption: the signature covered the ciphertext; the content is read once opened.
  let content = params.biz_content ?? '';
  const key = options.contentKey;
  if (params.encrypt_type) {
    if (params.encrypt_type !== 'AES') return invalid('isv.invalid-encrypt-type', '无效的加密类型');
    if (!key) return invalid('isv.decryption-error-not-valid-encrypt-key', '解密出错, 未配置加密密钥或加密密钥格式错误');
    const opened = openContent(content, key);
    // what the real gateway answers a biz_content sealed with another key (captured in the Node SDK's tests)
    if (opened === null) return refuse({ code: '40003', msg: 'Insufficient Conditions', sub_code: 'isv.decryption-error-unknown', sub_msg: '解密出错, 未知错误' });
    content = opened;
  } else if (key && setup.behaviours?.requireEncryption && method !== ALIPAYCERT_DOWNLOAD.method) {
    // (the certificate download is outside content encryption: the SDKs always send it in clear)
    return refuse({ code: '40001', msg: 'Missing Required Arguments', sub_code: 'isv.decryption-error-missing-encrypt-type', sub_msg: '解密出错, 未指定加密算法' });
  }
  try {
    const parsed = JSON.parse(content) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return { biz: parsed as Record<string, unknown>, encrypted: Boolean(params.encrypt_type) };
  } catch {
    return invalid('isv.invalid-biz-content', 'biz_content 不是合法的JSON对象');
  }
}
