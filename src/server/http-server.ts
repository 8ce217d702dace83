import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../lib/logger.js';

export type RouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: Record<string, string>,
) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: RouteHandler;
}

/**
 * The one HTTP server of Patchbay. Integrations register their routes on it; handlers get the raw
 * request because webhook signatures are computed over the exact bytes received.
 */
export function createHttpServer({ log }: { log: Logger }) {
  const routes: Route[] = [];

  function route(method: string, path: string, handler: RouteHandler): void {
    const keys: string[] = [];
    const source = path.replace(/:([a-zA-Z]+)/g, (_m, key: string) => {
      keys.push(key);
      return '([^/]+)';
    });
    routes.push({ method, pattern: new RegExp(`^${source}$`), keys, handler });
  }

  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://patchbay').pathname;
    const candidates = routes.filter((r) => r.pattern.test(path));
    const match = candidates.find((r) => r.method === req.method);
    if (!match) {
      sendJson(res, candidates.length ? 405 : 404, {
        error: candidates.length ? 'method not allowed' : 'not found',
      });
      return;
    }
    const values = match.pattern.exec(path)?.slice(1) ?? [];
    const params = Object.fromEntries(match.keys.map((k, i) => [k, decodeURIComponent(values[i] ?? '')]));
    try {
      await match.handler(req, res, params);
    } catch (err) {
      log.error({ path, err: (err as Error).message }, 'request handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.end();
    }
  });
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;

  return {
    server,
    route,
    async listen(port: number, host = '0.0.0.0'): Promise<number> {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      return (server.address() as AddressInfo).port;
    },
    /**
     * Stops taking connections and waits for the requests in progress; a connection still busy after
     * `graceMs` (a client that keeps a stream open) is cut.
     */
    async close(graceMs = 2_000): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
}
export type HttpServer = ReturnType<typeof createHttpServer>;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

export class BodyTooLargeError extends Error {}

/**
 * A webhook's raw body (signatures are computed over these exact bytes), or null once the request
 * was answered: 413 when larger than `limit`, 400 when it could not be read.
 */
export async function readWebhookBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit = 1_048_576,
): Promise<Buffer | null> {
  try {
    return await readRawBody(req, limit);
  } catch (err) {
    sendJson(res, err instanceof BodyTooLargeError ? 413 : 400, { error: 'could not read body' });
    return null;
  }
}

/** One request header as a string, or undefined when absent, repeated, empty or over 200 characters. */
export function readHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value.length > 0 && value.length <= 200 ? value : undefined;
}

/** Reads the whole body, refusing more than `limit` bytes. */
export async function readRawBody(req: IncomingMessage, limit = 1_048_576): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError(`body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
