import { type IncomingHttpHeaders, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../lib/logger.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the sandbox's own proxy headers: never passed on. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function passable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/**
 * Forwards one absolute-URI HTTP request over a connection the proxy opened to an allowed name (direct,
 * or a CONNECT tunnel through the upstream), one request per connection.
 */
export async function forwardPlainRequest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  connect: (port: number) => Promise<Socket>,
  log: Logger,
): Promise<void> {
  let socket: Socket;
  try {
    socket = await connect(Number(url.port || 80));
  } catch (err) {
    log.info({ err: (err as Error).message }, 'proxy could not connect');
    res
      .writeHead(502, { 'content-type': 'text/plain' })
      .end(`Patchbay's proxy could not connect to ${url.host}.\n`);
    return;
  }
  const out = request({
    createConnection: () => socket,
    method: req.method,
    path: `${url.pathname}${url.search}`,
    headers: { ...passable(req.headers), host: url.host, connection: 'close' },
  });
  out.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, passable(answer.headers));
    answer.pipe(res);
  });
  out.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end();
  });
  req.pipe(out);
}
