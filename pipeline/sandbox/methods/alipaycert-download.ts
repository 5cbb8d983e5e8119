import type { SandboxCertMode } from '../cert-mode.js';
import { ALIPAYCERT_DOWNLOAD as PAGE, checkRequest, errorText } from '../pages/index.js';
import { businessError, success, type MethodAnswer, type MethodContext, type SandboxMethod } from './types.js';

/**
 * alipay.open.app.alipaycert.download (pages/alipaycert-download.ts): the file of any Alipay certificate the
 * gateway signed with, by SN, base64; unsigned. An app not in certificate mode has no such certificate.
 */
export class AlipayCertDownloadMethod implements SandboxMethod {
  readonly method = PAGE.method;
  readonly unsigned = true;

  constructor(private readonly certMode: SandboxCertMode | undefined) {}

  keyOf(biz: Record<string, unknown>): string | undefined {
    return typeof biz.alipay_cert_sn === 'string' ? biz.alipay_cert_sn : undefined;
  }

  handle(ctx: MethodContext): MethodAnswer {
    const bad = checkRequest(PAGE, ctx.biz);
    if (bad) return businessError('INVALID_PARAMETER', `${errorText(PAGE, 'INVALID_PARAMETER')}: ${bad.field} ${bad.reason}`);
    const pem = this.certMode?.certificateOf(ctx.biz.alipay_cert_sn as string);
    if (!pem) return businessError('INVALID_PARAMETER', `${errorText(PAGE, 'INVALID_PARAMETER')}: alipay_cert_sn 不存在`);
    return success({ alipay_cert_content: Buffer.from(pem, 'utf8').toString('base64') });
  }

  snapshot(): unknown {
    return { rotations: this.certMode?.rotations ?? 0 };
  }

  reset(): void {}
}
