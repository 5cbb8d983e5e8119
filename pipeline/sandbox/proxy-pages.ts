import type { ServerResponse } from 'node:http';
import type { LoggedRequest } from './options.js';

/** The fault kinds proxyAnswer answers. */
export type ProxyFault = 'http403' | 'http407' | 'http408' | 'http413' | 'http429' | 'html200';

/** What a proxy, WAF or load balancer in front of the gateway answers: HTTP errors and HTML pages, never JSON. */
export function proxyAnswer(res: ServerResponse, fault: ProxyFault, log: LoggedRequest): void {
  const page = (title: string, text: string) =>
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p><hr><address>Tengine</address></body></html>\n`;
  const html = { 'content-type': 'text/html;charset=utf-8' };
  const send = (status: number, headers: Record<string, string>, body: string) => {
    log.code = fault === 'html200' ? 'HTML_200' : `HTTP_${status}`;
    res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  };
  switch (fault) {
    case 'http403':
      return send(403, html, page('403 Forbidden', 'You don\'t have permission to access the URL on this server.'));
    case 'http407':
      return send(407, { ...html, 'proxy-authenticate': 'Basic realm="proxy"' }, page('407 Proxy Authentication Required', 'The proxy needs your credentials.'));
    case 'http408':
      return send(408, { ...html, connection: 'close' }, page('408 Request Timeout', 'The server timed out waiting for the request.'));
    case 'http413':
      return send(413, html, page('413 Request Entity Too Large', 'The request body is larger than the server allows.'));
    case 'http429':
      return send(429, { ...html, 'retry-after': '1' }, page('429 Too Many Requests', 'Too many requests, try again later.'));
    case 'html200':
      return send(200, html, page('系统繁忙', '系统繁忙，请稍后再试。'));
  }
}
