/**
 * Small loopback gateways for the client's answer tests (alipay-answers*.test.ts): each answers exactly one way,
 * signed with node:crypto and the real test keys. Clients made by `client` are kept in `clients` to close.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sign as rsaSign, type KeyObject } from 'node:crypto';
import iconv from 'iconv-lite';
import { AlipayClient, type ClientOptions } from '../../pipeline/alipay/client.js';
import type { Outcome } from '../../pipeline/alipay/classify.js';
import { answersOf } from './answers.js';
import { testKeys } from './sandbox.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A loopback HTTP server answering every request with `handler`; closed (connections too) by the returned stop. */
export async function gateway(handler: Handler): Promise<{ url: string; stop: () => Promise<void>; sockets: number }> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handler(req, res, body));
  });
  const state = { sockets: 0 };
  server.on('connection', () => state.sockets++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/gateway.do`,
    get sockets() {
      return state.sockets;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function nodeKey(method: string): string {
  return method.replaceAll('.', '_') + '_response';
}

/** `{"<method>_response":<node>,"sign":"…"}` with the signature over `signedText` (default: the node) in `encoding`. */
export function signedBody(method: string, node: string, o: { signType?: 'RSA2' | 'RSA'; key?: KeyObject; signedText?: string; encoding?: string } = {}): string {
  const key = o.key ?? testKeys().keys.alipayPrivateKey;
  const text = o.signedText ?? node;
  const bytes = o.encoding ? iconv.encode(text, o.encoding) : Buffer.from(text, 'utf8');
  const sig = rsaSign(o.signType === 'RSA' ? 'sha1' : 'sha256', bytes, key).toString('base64');
  return `{"${nodeKey(method)}":${node},"sign":"${sig}"}`;
}

export const clients: AlipayClient[] = [];
export function client(url: string, o: Partial<ClientOptions> = {}): AlipayClient {
  const { keys } = testKeys();
  const c = new AlipayClient({ gateway: url, appId: '2021000000000001', privateKey: keys.appPrivateKey, alipayPublicKey: keys.alipayPublicKey, ...o });
  clients.push(c);
  return c;
}

/** One call against a gateway that answers `status`, `contentType` and `body`. */
export async function callWith(method: string, body: string | Buffer, o: { status?: number; contentType?: string; client?: Partial<ClientOptions> } = {}): Promise<Outcome> {
  const gw = await gateway((_req, res) => {
    res.writeHead(o.status ?? 200, { 'content-type': o.contentType ?? 'application/json;charset=utf-8' });
    res.end(body);
  });
  try {
    const c = client(gw.url, o.client);
    const out = await c.call(method, '{"k":"v"}', { policy: answersOf(method) });
    await c.close();
    return out;
  } finally {
    await gw.stop();
  }
}
