/**
 * alipay.open.app.alipaycert.download (应用支付宝公钥证书下载): "用于开发者下载其对应的支付宝公钥证书". No seed
 * carries this page: the request field is the page's 业务请求参数 (alipay_cert_sn, 必选, string(128), 支付宝公钥证书
 * 序列号), the answer's field the official SDKs' AlipayOpenAppAlipaycertDownloadResponse (alipay_cert_content: the
 * certificate file, base64). The page lists no business error codes; for an SN it never signed with the sandbox
 * answers INVALID_PARAMETER (its choice, not the page's). The answer comes without `sign` (as the Go and .NET SDKs
 * note of the real one): the certificate is trusted by its chain to the root, not by the answer's signature.
 */
import type { ApiPage } from './types.js';

export const ALIPAYCERT_DOWNLOAD: ApiPage = {
  method: 'alipay.open.app.alipaycert.download',
  source: '',
  request: [{ name: 'alipay_cert_sn', type: 'String', required: true, maxLength: 128, format: '支付宝公钥证书序列号' }],
  response: ['alipay_cert_content'],
  errors: [
    { code: 'INVALID_PARAMETER', text: '参数有误' },
    { code: 'SYSTEM_ERROR', text: '系统繁忙' },
  ],
};
