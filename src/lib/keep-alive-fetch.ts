import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';

const decoders: Record<string, (body: Buffer) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

/** Statuses whose answer has no body (a Response refuses one). */
const NO_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * Idle connections are closed after this long: below the 5 s that Node's servers (and most load
 * balancers' shortest settings) keep an idle connection, so that a request is never written into a
 * connection the other side is closing.
 */
const IDLE_MS = 4_000;

/**
 * A `fetch` for an SDK client that posts small bodies and reads small answers (Slack's Web API
 * client takes one as its `fetch` option): node:http(s) over keep-alive connections, which costs a
 * fraction of the built-in fetch's CPU per call (bench/fetch.ts). It takes text, bytes and form
 * fields as the body, and no redirects (`redirect: 'error'` or `'manual'`, as that client asks);
 * any other request goes to the built-in fetch unchanged, and so does every request of a host
 * that reaches the internet through a proxy (`proxied`). Answers are read whole, decompressed when the server compressed them, and returned
 * as a standard Response.
 */
export function createKeepAliveFetch(opts: { proxied: boolean }): typeof fetch {
  // A host that reaches the internet through a proxy: the built-in fetch honors it (Node 24 with
  // NODE_USE_ENV_PROXY=1); these connections would not.
  if (opts.proxied) return (input, init) => globalThis.fetch(input, init);
  const agents = {
    'http:': new HttpAgent({ keepAlive: true, timeout: IDLE_MS }),
    'https:': new HttpsAgent({ keepAlive: true, timeout: IDLE_MS }),
  };

  return async function keepAliveFetch(input, init = {}) {
    const url = typeof input === 'string' ? new URL(input) : input instanceof URL ? input : undefined;
    const body = toBytes(init.body);
    const redirect = init.redirect ?? 'follow';
    if (!url || body === null || redirect === 'follow' || !(url.protocol in agents)) {
      return globalThis.fetch(input, init);
    }
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const headers = new Headers(init.headers);
    if (!headers.has('accept-encoding')) headers.set('accept-encoding', 'gzip, deflate, br');
    if (body && !headers.has('content-type') && typeof init.body === 'string') {
      headers.set('content-type', 'text/plain;charset=UTF-8');
    }
    if (body && !headers.has('content-type') && init.body instanceof URLSearchParams) {
      headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    }
    if (body) headers.set('content-length', String(body.byteLength));

    const send = (mayRetry: boolean) =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
        const req = request(url, {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(headers),
          agent: agents[url.protocol as keyof typeof agents],
        });
        const onAbort = () => req.destroy(signal?.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        req.once('response', (res) => {
          signal?.removeEventListener('abort', onAbort);
          // A response cut or aborted while its body is read rejects the read below.
          if (signal) {
            const cut = () => res.destroy(signal.reason);
            signal.addEventListener('abort', cut, { once: true });
            res.once('close', () => signal.removeEventListener('abort', cut));
          }
          resolve(res);
        });
        req.once('error', (err: NodeJS.ErrnoException) => {
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) return reject(signal.reason);
          // A kept connection the server closed just as the request went out (it had not answered):
          // sent once more on a new connection, as Node's documentation advises.
          if (mayRetry && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
            return resolve(send(false));
          }
          reject(new TypeError('fetch failed', { cause: err }));
        });
        req.end(body ?? undefined);
      });
    const answer = await send(true);

    const status = answer.statusCode ?? 0;
    if (status >= 300 && status < 400 && redirect === 'error') {
      answer.resume();
      throw new TypeError('fetch failed', { cause: new Error(`unexpected redirect (${status})`) });
    }
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of answer) chunks.push(chunk as Buffer);
    } catch (err) {
      throw signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err });
    }
    let content: Buffer = Buffer.concat(chunks);
    const encoding = String(answer.headers['content-encoding'] ?? '').toLowerCase();
    const decode = decoders[encoding];
    if (decode && content.byteLength > 0) content = await decode(content);
    const responseHeaders = new Headers();
    for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) {
      const name = answer.rawHeaders[i] ?? '';
      // The body is handed over decoded: its encoding and length no longer describe it.
      if (decode && /^content-(encoding|length)$/i.test(name)) continue;
      responseHeaders.append(name, answer.rawHeaders[i + 1] ?? '');
    }
    if (status < 200 || status > 599) {
      throw new TypeError('fetch failed', { cause: new Error(`unexpected status ${status}`) });
    }
    const response = new Response(NO_BODY.has(status) ? null : content, {
      status,
      statusText: answer.statusMessage ?? '',
      headers: responseHeaders,
    });
    Object.defineProperty(response, 'url', { value: url.href });
    return response;
  };
}

/** The request body as bytes (`undefined`: none), or null when it is of a kind left to the built-in fetch. */
function toBytes(body: RequestInit['body']): Uint8Array | undefined | null {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return null;
}
