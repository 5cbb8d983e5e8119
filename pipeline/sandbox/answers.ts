/**
 * The gateway's answers on the wire: the `*_response` node serialised and signed like Alipay's, and the faults
 * that change how an answer looks (wrong_key, unsigned, tamper, duplicate_key, gbk_error, trickle, oversized).
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import iconv from 'iconv-lite';
import { signText, type SignType } from '../alipay/sign.js';
import type { Behaviours } from './behaviours.js';
import { sealContent } from './content-crypto.js';
import type { FaultKind, FaultPlan } from './faults.js';
import type { SandboxOptions } from './options.js';
import type { Timers } from './timers.js';

export interface AnswerSetup {
  options: Pick<SandboxOptions, 'alipayPrivateKey' | 'certSn' | 'certMode'>;
  faults: FaultPlan;
  /** the gateway's switched-on behaviours, read at each answer */
  behaviours: Behaviours;
  timers: Timers;
  /** whether the gateway is still listening (a trickle stops when it is not) */
  live: () => boolean;
}

export class AnswerWriter {
  private readonly wrongKey: KeyObject;
  /**
   * Signatures of answer texts already signed. RSA PKCS#1 v1.5 signatures are deterministic, so this changes
   * nothing a client can see; it keeps the sandbox from being the bottleneck when a benchmark measures the
   * client (most answers are the same `{"code":"10000","msg":"Success"}`).
   */
  private readonly signatures = new Map<string, string>();

  constructor(private readonly setup: AnswerSetup) {
    // A key that is not Alipay's, for the wrong_key fault. 1024 bits: it only has to be wrong, not strong.
    this.wrongKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  }

  /** The key answers are signed with now, and the SN they name (certificate mode: the current Alipay certificate). */
  private signer(): { key: KeyObject; sn: string | undefined } {
    const o = this.setup.options;
    return o.certMode ? o.certMode.signer : { key: o.alipayPrivateKey, sn: o.certSn };
  }

  /** A signature of `text`, from the cache when the same text was signed before with the same algorithm and key. */
  private signOf(text: string, signType: SignType): string {
    const signer = this.signer();
    const id = `${signType}\u0000${signer.sn ?? ''}\u0000${text}`;
    let sign = this.signatures.get(id);
    if (sign === undefined) {
      sign = signText(text, signer.key, signType);
      if (this.signatures.size < 10_000 && text.length < 65_536) this.signatures.set(id, sign);
    }
    return sign;
  }

  /**
   * Serialise and sign like Alipay: the signature covers the exact text of the response node. Every answer of the
   * gateway itself carries a `trace_id` header, Alipay's id of the call (what its support asks for; the official
   * SDKs read it), returned for the request log. Alipay escapes '/'
   * in its JSON (a client that re-serialises parsed JSON before verifying fails here); by default the signature
   * covers that escaped text. With the behaviour unescapedSlash the body still has '\/' but the signature covers
   * the text with plain '/', which the Java and PHP SDKs retry for. With `sealWith` (content encryption) the node
   * is the encrypted JSON text as a string, and the signature covers that string as it stands, quotes included.
   * An unsigned answer names no certificate either.
   */
  write(res: ServerResponse, node: string, fields: Record<string, unknown>, signed: boolean, fault: FaultKind | undefined, signType: SignType, sealWith?: Buffer): string {
    // 30 hex digits, the length of the ids Alipay sends
    const traceId = randomBytes(15).toString('hex');
    if (fault === 'oversized') fields = this.padded(node, fields, signType);
    const plain = JSON.stringify(fields);
    let raw = sealWith ? JSON.stringify(sealContent(plain, sealWith)) : plain.replaceAll('/', '\\/');
    const covered = this.setup.behaviours.unescapedSlash && !sealWith ? plain : raw;
    let sign: string | undefined = signed ? this.signOf(covered, signType) : undefined;
    if (fault === 'wrong_key') sign = signText(covered, this.wrongKey, signType);
    if (fault === 'unsigned') sign = undefined;
    if (fault === 'tamper') raw = raw.replace('"code":"', '"code": "').replace('}', ',"note":"altered"}');
    let text = `{"${node}":${raw}`;
    if (fault === 'duplicate_key') text += `,"${node}":${JSON.stringify({ code: '10000', msg: 'Success' })}`;
    const sn = this.signer().sn;
    if (sn && signed) text += `,"alipay_cert_sn":${JSON.stringify(sn)}`;
    if (sign !== undefined) text += `,"sign":${JSON.stringify(sign)}`;
    text += '}';
    if (fault === 'gbk_error') {
      // The body in GBK, as a front end in the GBK world answers; the signature covers the text (the characters)
      // in the request's charset, UTF-8 here, as the Java SDK checks it (rsaCheck(content, sign, key, charset)):
      // a client must decode the body by the header's charset before it verifies.
      const body = iconv.encode(text, 'gbk');
      res.writeHead(200, { 'content-type': 'text/html;charset=GBK', 'content-length': body.length, trace_id: traceId });
      res.end(body);
      return traceId;
    }
    if (fault === 'trickle') {
      this.trickle(res, Buffer.from(text, 'utf8'), traceId);
      return traceId;
    }
    res.writeHead(200, { 'content-type': 'text/html;charset=utf-8', trace_id: traceId });
    res.end(text);
    return traceId;
  }

  /** The answer's fields with a `sandbox_padding` string that brings the whole body to oversizedBytes (at least). */
  private padded(node: string, fields: Record<string, unknown>, signType: SignType): Record<string, unknown> {
    const probe = { ...fields, sandbox_padding: '' };
    const { key, sn } = this.signer();
    const sign = signText('x', key, signType);
    let overhead = `{"${node}":${JSON.stringify(probe).replaceAll('/', '\\/')},"sign":${JSON.stringify(sign)}}`.length;
    if (sn) overhead += `,"alipay_cert_sn":${JSON.stringify(sn)}`.length;
    const pad = Math.max(0, this.setup.faults.oversizedBytes - overhead);
    // Letters and digits only: nothing to escape, one byte per character, so the body is exactly oversizedBytes.
    return { ...fields, sandbox_padding: 'sandbox0123456789'.repeat(Math.ceil(pad / 17)).slice(0, pad) };
  }

  /** Send `body` one byte every trickleMs (headers at once, with the full Content-Length). */
  private trickle(res: ServerResponse, body: Buffer, traceId: string): void {
    res.writeHead(200, { 'content-type': 'text/html;charset=utf-8', 'content-length': body.length, trace_id: traceId });
    res.flushHeaders();
    let i = 0;
    const step = () => {
      if (res.destroyed || !this.setup.live()) return;
      const last = i === body.length - 1;
      res.write(body.subarray(i, i + 1));
      i++;
      if (last) {
        res.end();
        return;
      }
      this.setup.timers.after(this.setup.faults.trickleMs, step);
    };
    step();
  }
}
