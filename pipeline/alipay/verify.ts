import type { KeyObject } from 'node:crypto';
import iconv from 'iconv-lite';
import { verifyBytes, type SignType } from './sign.js';

/**
 * Verifies answers' signatures with the Alipay public key, remembering pairs that verified. Sound because
 * verification is a pure function of (text, signature, key); worth it because most answers are the same text with
 * the same signature (`{"code":"10000","msg":"Success"}`, signed deterministically), so a migration would otherwise
 * spend an RSA operation per row re-proving one fact. Only successes are remembered, and only a bounded number.
 *
 * Answers are signed with the app's sign type (RSA2, or RSA = SHA1withRSA when the app signs with RSA), as the
 * official SDKs verify them. When the first check fails and the text holds `\/`, it is checked once more with
 * `\/` read as `/`, as the Java and PHP SDKs do: a JSON writer may escape the slash after Alipay signed the text
 * (a URL, "5元/小时").
 */
export class AnswerVerifier {
  private readonly remembered = new Set<string>();

  constructor(
    private readonly alipayPublicKey: KeyObject,
    private readonly signType: SignType = 'RSA2',
  ) {}

  /** Does `sign` cover `raw`, the answer node's text decoded from `charset` (utf-8 by default)? */
  verify(raw: string, sign: string, charset = 'utf-8'): boolean {
    const id = sign + '\u0000' + raw;
    if (this.remembered.has(id)) return true;
    let ok = this.verifyOnce(raw, sign, charset);
    if (!ok && raw.includes('\\/')) ok = this.verifyOnce(raw.replaceAll('\\/', '/'), sign, charset);
    if (ok && raw.length <= 4096) {
      if (this.remembered.size >= 1024) this.remembered.clear();
      this.remembered.add(id);
    }
    return ok;
  }

  /**
   * The signature covers the text's bytes in our request charset (utf-8), as the Java SDK checks it; an answer
   * declared in another charset (Alipay answers some errors in GBK) is also checked over that charset's bytes,
   * i.e. exactly the bytes that came.
   */
  private verifyOnce(text: string, sign: string, charset: string): boolean {
    if (verifyBytes(Buffer.from(text, 'utf8'), sign, this.alipayPublicKey, this.signType)) return true;
    return charset !== 'utf-8' && verifyBytes(iconv.encode(text, charset), sign, this.alipayPublicKey, this.signType);
  }
}
