import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Parsed JSON when the body was JSON, else the raw text. */
  body: unknown;
  raw: string;
  params: Record<string, string>;
}

export interface StandInReply {
  status?: number;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

export type StandInHandler = (call: RecordedCall) => StandInReply | Promise<StandInReply>;

export interface HttpStandIn {
  url: string;
  calls: RecordedCall[];
  /** Requests no route matched; a test asserts this stays empty. */
  unmatched: RecordedCall[];
  /** `on('POST /repos/:owner/:repo/pulls', handler)`; later registrations win. */
  on(route: string, handler: StandInHandler): void;
  close(): Promise<void>;
}

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: StandInHandler;
}

function compile(route: string, handler: StandInHandler): Route {
  const [method, path] = route.split(' ', 2);
  if (!method || !path) throw new Error(`route must be "METHOD /path": ${route}`);
  const keys: string[] = [];
  const source = path
    .split('/')
    .map((part) => {
      if (part.startsWith(':')) {
        keys.push(part.slice(1));
        return '([^/]+)';
      }
      if (part === '*') {
        keys.push('rest');
        return '(.*)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { method: method.toUpperCase(), pattern: new RegExp(`^${source}$`), keys, handler };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(raw: string): unknown {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * A loopback HTTP server that answers only the routes registered on it and records every call. It
 * stands in for GitHub, the model or Slack in the demo and the tests; an unmatched request gets a 501
 * and is kept in `unmatched` so that a test can fail on it.
 */
export async function startHttpStandIn(opts: { prefix?: string } = {}): Promise<HttpStandIn> {
  const routes: Route[] = [];
  const calls: RecordedCall[] = [];
  const unmatched: RecordedCall[] = [];
  const prefix = opts.prefix ?? '';

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const raw = await readBody(req);
    let path = url.pathname;
    if (prefix && path.startsWith(prefix)) path = path.slice(prefix.length) || '/';
    const call: RecordedCall = {
      method: req.method ?? 'GET',
      path,
      query: url.searchParams,
      headers: req.headers,
      body: parseBody(raw),
      raw,
      params: {},
    };
    const route = [...routes].reverse().find((r) => r.method === call.method && r.pattern.test(path));
    if (!route) {
      unmatched.push(call);
      res.writeHead(501, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `no stand-in route for ${call.method} ${path}` }));
      return;
    }
    const match = route.pattern.exec(path);
    route.keys.forEach((key, i) => {
      call.params[key] = decodeURIComponent(match?.[i + 1] ?? '');
    });
    calls.push(call);
    try {
      const reply = await route.handler(call);
      const status = reply.status ?? 200;
      const headers: Record<string, string> = { ...reply.headers };
      if (reply.json !== undefined) {
        headers['content-type'] ??= 'application/json';
        res.writeHead(status, headers);
        res.end(JSON.stringify(reply.json));
      } else {
        res.writeHead(status, headers);
        res.end(reply.text ?? '');
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: err instanceof Error ? err.message : String(err) }));
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    calls,
    unmatched,
    on(route, handler) {
      routes.push(compile(route, handler));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
