/**
 * Alipay's common error codes (公共错误码, opendocs.alipay.com/common/02km9f) as data: what the protocol-level codes
 * tell a person to check, and what each 40002 (非法的参数) sub_code means for the run. Read by classify.ts.
 */

/** The verdict on a 40002: which kind of outcome, and what to tell a person. */
export interface Verdict40002 {
  kind: 'run-fatal' | 'row-fatal' | 'transient';
  hint: string;
}

/** What to check when the gateway answers one of the codes that are about our configuration. */
export const CONFIG_HINT: Readonly<Record<'20001' | '40001' | '40002' | '40006', string>> = {
  '20001': 'the app_auth_token is invalid, expired or not granted this method: check --app-auth-token',
  '40001': 'a required common parameter is missing (a bug in alipay-sync, or no public key uploaded for the app: please check and report it)',
  '40002': 'the gateway refused a common parameter: check --app-id, the key pair, --sign-type and the host clock',
  '40006': 'the app lacks permission for this method: sign the product / grant the API in the Alipay console',
};

/**
 * 40002 sub_codes, from the public error-code list: most name a common parameter, a key or the app (every request
 * would meet them: stop the run); a few name the content of this one request (fail the row, the run goes on).
 * Keys are lower case (compared case-insensitively).
 */
export const SUB_CODES_40002: Readonly<Record<string, Verdict40002>> = {
  // this request's content
  'isv.invalid-parameter': { kind: 'row-fatal', hint: 'a parameter of this row is invalid (参数无效: wrong format, illegal value or out of range)' },
  'isv.content-length-too-long': { kind: 'row-fatal', hint: 'this row\'s request is too long (内容超长)' },
  'isv.invalid-file-extension': { kind: 'row-fatal', hint: 'a file of this row has an extension Alipay refuses (文件扩展名无效)' },
  'isv.invalid-file-size': { kind: 'row-fatal', hint: 'a file of this row is too large (文件大小无效)' },
  // documented as "retry"
  'isv.upload-fail': { kind: 'transient', hint: 'the gateway could not store the upload (文件上传失败): will retry' },
  // credentials, signature, app id, timestamp, charset, method, format, encryption: configuration
  'isv.invalid-signature': { kind: 'run-fatal', hint: 'the request signature does not verify (无效签名): check --private-key matches the app public key uploaded to Alipay, and --sign-type' },
  'isv.invalid-signature-type': { kind: 'run-fatal', hint: 'the sign type is refused (无效的签名类型): check --sign-type' },
  'isv.missing-signature-config': { kind: 'run-fatal', hint: 'the app has no public key or certificate for this sign type (未配置对应签名算法的公钥或者证书): check --sign-type and the app\'s settings' },
  'isv.invalid-app-id': { kind: 'run-fatal', hint: 'the app id is unknown or not online (无效的appId参数): check --app-id and --gateway (production vs sandbox)' },
  'isv.invalid-timestamp': { kind: 'run-fatal', hint: 'the timestamp is refused (非法的时间戳参数): check the host clock' },
  'isv.invalid-charset': { kind: 'run-fatal', hint: 'the charset is refused (字符集错误)' },
  'isv.invalid-method': { kind: 'run-fatal', hint: 'no such method (不存在的方法名): check --gateway' },
  'isv.invalid-format': { kind: 'run-fatal', hint: 'the format is refused (无效的数据格式)' },
  'isv.invalid-encrypt-type': { kind: 'run-fatal', hint: 'the encryption type is refused (无效的加密类型): check the app\'s 接口内容加密方式 is AES' },
  'isv.invalid-encrypt': { kind: 'run-fatal', hint: 'the gateway could not decrypt the request (解密异常): check --encrypt-key is the app\'s AES key' },
  'isv.decryption-error-not-valid-encrypt-key': { kind: 'run-fatal', hint: 'the app has no AES key (未配置加密密钥): set one in the console (接口内容加密方式), or leave out --encrypt-key' },
  // certificate mode
  'isv.missing-app-cert-sn': { kind: 'run-fatal', hint: 'the app signs in certificate mode (公钥证书): give --app-cert, --alipay-cert and --alipay-root-cert instead of --alipay-public-key' },
  'isv.missing-alipay-root-cert-sn': { kind: 'run-fatal', hint: 'the app signs in certificate mode (公钥证书): give --alipay-root-cert' },
  'isv.app-cert-not-exist': { kind: 'run-fatal', hint: 'the gateway knows no such app certificate (应用公钥证书不存在): check --app-cert is this app\'s current certificate' },
  'isv.invalid-alipay-root-cert-sn': { kind: 'run-fatal', hint: 'the root certificate is refused (无效的支付宝根证书序列号): give alipayRootCert.crt as downloaded from the console as --alipay-root-cert' },
  'isv.invalid-digest': { kind: 'run-fatal', hint: 'a file digest is missing (摘要错误)' },
  'isv.not-support-app-auth': { kind: 'run-fatal', hint: 'this method cannot be called on behalf of a merchant (本接口不支持第三方代理调用): drop --app-auth-token' },
};

/**
 * Words that, in a 40002 sub_code not in the list above, mean the problem is our configuration rather than the
 * row: credentials, signature, keys and certificates, app id, timestamp, charset, permissions, tokens, encryption.
 */
const CONFIG_WORDS = /sign|key|cert|app-?id|app_id|timestamp|charset|permission|auth|token|encrypt|decrypt|method|version/i;

/** Sub-codes about content encryption (解密出错…), under 40001, 40002 or 40003: what to check. */
export function encryptionHint(subCode: string | undefined): string | null {
  const lower = (subCode ?? '').toLowerCase();
  if (lower === 'isv.decryption-error-missing-encrypt-type') {
    return 'the app requires content encryption (解密出错, 未指定加密算法): give its AES key with --encrypt-key';
  }
  if (/decrypt|encrypt/.test(lower)) return 'the gateway could not decrypt the request (解密出错): check --encrypt-key is the app\'s AES key (接口内容加密方式 in the console)';
  return null;
}

/** What a 40002 means, by sub_code. */
export function classify40002(subCode: string | undefined): Verdict40002 {
  if (!subCode) return { kind: 'run-fatal', hint: CONFIG_HINT['40002'] };
  const lower = subCode.toLowerCase();
  const known = SUB_CODES_40002[lower];
  if (known) return known;
  // isv.decryption-error-*, isv.missing-* (a common parameter: 40001's family), anything about keys or signing.
  if (lower.startsWith('isv.decryption-error') || lower.startsWith('isv.missing-') || CONFIG_WORDS.test(lower)) {
    return { kind: 'run-fatal', hint: encryptionHint(subCode) ?? CONFIG_HINT['40002'] };
  }
  // Unknown and not about configuration: fail the row, not the run. A 40002 that every row meets still stops the
  // run, through FailureStreak (N rows in a row failing with the same sub_code).
  return { kind: 'row-fatal', hint: 'the gateway refused a parameter of this row' };
}
