import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../lib/logger.js';
import type { ForbiddenRange } from './egress-addresses.js';
import { isAllowedName, normalizeHostName, parseAuthority } from './egress-names.js';
import { forwardPlainRequest } from './egress-plain-http.js';
import type { ResolveName } from './egress-resolver.js';
import { connectDirect, connectThroughUpstream, type UpstreamProxy } from './egress-upstream.js';
import { FORWARDER_FILE, FORWARDER_SOURCE, PROXY_SOCKET_FILE } from './proxy-forwarder.js';

/** A request the proxy refused: a name not listed, or a listed name that leads to a forbidden address. */
export interface BlockedRequest {
  name: string;
  reason: 'not_listed' | 'forbidden_address';
  range?: ForbiddenRange;
}

/** Each blocked name once, with how often it was asked for; the first {@link MAX_BLOCKED_NAMES} names. */
export interface BlockedName extends BlockedRequest {
  count: number;
}

const MAX_BLOCKED_NAMES = 200;

export interface EgressProxyDeps {
  /** Turns an allowed name into addresses, refusing forbidden ones (createPublicResolver in production). */
  resolve: ResolveName;
  /** The host's own upstream proxy, when it needs one to reach the internet. */
  upstream?: UpstreamProxy;
  log: Logger;
  /** Where each session's directory goes (default the system's temp directory). */
  baseDir?: string;
}

/** One task's proxy: a Unix socket in `dir` (mounted into the task's sandbox) and what it refused. */
export interface EgressSession {
  /** Host directory holding the socket and the forwarder; mounted read-only into the sandbox. */
  readonly dir: string;
  readonly domains: readonly string[];
  blocked(): BlockedName[];
  close(): Promise<void>;
}

export interface EgressProxy {
  open(opts: {
    taskId: string;
    domains: readonly string[];
    onBlocked?(blocked: BlockedRequest): void;
  }): Promise<EgressSession>;
}

type Decision =
  | { ok: true; connect(port: number): Promise<Socket>; via: 'direct' | 'upstream'; address?: string }
  | { ok: false; status: number; message: string };

/**
 * Patchbay's filtering proxy for the agent's commands. Each task gets its own HTTP proxy on a Unix
 * socket (never a TCP port: the sandbox has no route anywhere, and host loopback holds Redis). It
 * allows CONNECT and absolute-URI HTTP requests to listed names and their subdomains only, asks the
 * resolver about listed names only, refuses names that lead to the host or its networks, and records
 * every refusal. With an upstream it chains through it with the upstream's credentials, which stay here.
 */
export function createEgressProxy(deps: EgressProxyDeps): EgressProxy {
  return {
    async open(opts) {
      const dir = await mkdtemp(path.join(deps.baseDir ?? tmpdir(), 'patchbay-proxy-'));
      await writeFile(path.join(dir, FORWARDER_FILE), FORWARDER_SOURCE, { mode: 0o644 });
      const log = deps.log.child({ taskId: opts.taskId });
      const refusals = createRefusals(log, opts.onBlocked);
      const decide = (host: string) => decideFor(deps, opts.domains, host, refusals.block);
      const { server, sockets } = startServer(decide, log);
      // Nothing half-done: a session that cannot listen leaves no directory behind.
      await listen(server, path.join(dir, PROXY_SOCKET_FILE)).catch(async (err: unknown) => {
        await rm(dir, { recursive: true, force: true });
        throw err;
      });
      return {
        dir,
        domains: opts.domains,
        blocked: refusals.list,
        async close() {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          for (const socket of sockets) socket.destroy();
          await closed;
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** Each refusal: logged, counted once per name, told to `onBlocked`, answered with a sentence that says why. */
function createRefusals(log: Logger, onBlocked?: (blocked: BlockedRequest) => void) {
  const blocked = new Map<string, BlockedName>();
  const block = (request: BlockedRequest): Decision => {
    const seen = blocked.get(request.name);
    if (seen) seen.count += 1;
    else if (blocked.size < MAX_BLOCKED_NAMES) blocked.set(request.name, { ...request, count: 1 });
    log.info({ name: request.name, reason: request.reason, range: request.range }, 'proxy refused a request');
    onBlocked?.(request);
    const why =
      request.reason === 'not_listed'
        ? "it is not in this repository's network domains (patchbay.yml)"
        : `it resolves to a ${request.range} address`;
    return { ok: false, status: 403, message: `Patchbay's proxy refused ${request.name}: ${why}.\n` };
  };
  return { block, list: () => [...blocked.values()].map((b) => ({ ...b })) };
}

async function decideFor(
  deps: EgressProxyDeps,
  domains: readonly string[],
  host: string,
  block: (request: BlockedRequest) => Decision,
): Promise<Decision> {
  const name = normalizeHostName(host.replace(/^\[(.*)\]$/, '$1'));
  if (!name || !isAllowedName(name, domains))
    return block({ name: name ?? host.slice(0, 253), reason: 'not_listed' });
  const resolution = await deps.resolve(name);
  if (!resolution.ok && resolution.reason === 'forbidden_address') {
    return block({ name, reason: 'forbidden_address', range: resolution.range });
  }
  const { upstream } = deps;
  // With an upstream, a name the host cannot resolve itself is the upstream's to resolve.
  if (upstream)
    return { ok: true, via: 'upstream', connect: (port) => connectThroughUpstream(upstream, name, port) };
  if (!resolution.ok)
    return {
      ok: false,
      status: 502,
      message: `Patchbay's proxy could not resolve ${name} (${resolution.detail}).\n`,
    };
  const addresses = resolution.addresses;
  return { ok: true, via: 'direct', address: addresses[0], connect: (port) => connectFirst(addresses, port) };
}

async function connectFirst(addresses: readonly string[], port: number): Promise<Socket> {
  let last: unknown = new Error('no address');
  for (const address of addresses) {
    try {
      return await connectDirect(address, port);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/** Connections one task's commands may hold open through the proxy at once: memory is Patchbay's here. */
const MAX_CONNECTIONS = 256;

function startServer(
  decide: (host: string) => Promise<Decision>,
  log: Logger,
): { server: Server; sockets: Set<Socket> } {
  // A failure inside one request (a resolver that throws) ends that request, never the worker.
  const failed = (socket: Socket) => (err: Error) => {
    log.warn({ err: err.message }, 'proxy request failed');
    socket.destroy();
  };
  const server = createServer((req, res) => {
    handlePlain(req, res, decide, log).catch(failed(req.socket));
  });
  server.maxConnections = MAX_CONNECTIONS;
  // Tunnels leave the HTTP server's bookkeeping once CONNECT is answered: kept here to end them all.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    handleConnect(req, client, head, decide, log).catch(failed(client));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return { server, sockets };
}

async function handleConnect(
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
  decide: (host: string) => Promise<Decision>,
  log: Logger,
): Promise<void> {
  client.on('error', () => client.destroy());
  const target = parseAuthority(req.url ?? '');
  if (!target) return answerRaw(client, 400, "Patchbay's proxy: CONNECT needs host:port.\n");
  const decision = await decide(target.host);
  if (!decision.ok) return answerRaw(client, decision.status, decision.message);
  let remote: Socket;
  try {
    remote = await decision.connect(target.port);
  } catch (err) {
    log.info({ err: (err as Error).message, via: decision.via }, 'proxy could not connect');
    return answerRaw(client, 502, `Patchbay's proxy could not connect to ${target.host}:${target.port}.\n`);
  }
  remote.on('error', () => client.destroy());
  client.on('error', () => remote.destroy());
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length > 0) remote.write(head);
  remote.pipe(client);
  client.pipe(remote);
}

async function handlePlain(
  req: IncomingMessage,
  res: ServerResponse,
  decide: (host: string) => Promise<Decision>,
  log: Logger,
): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '');
  } catch {
    res
      .writeHead(400, { 'content-type': 'text/plain' })
      .end("Patchbay's proxy takes absolute http:// URLs and CONNECT.\n");
    return;
  }
  if (url.protocol !== 'http:') {
    res
      .writeHead(400, { 'content-type': 'text/plain' })
      .end("Patchbay's proxy forwards http:// URLs; use CONNECT for https.\n");
    return;
  }
  const decision = await decide(url.hostname);
  if (!decision.ok) {
    res.writeHead(decision.status, { 'content-type': 'text/plain' }).end(decision.message);
    return;
  }
  await forwardPlainRequest(req, res, url, decision.connect, log);
}

function answerRaw(client: Socket, status: number, message: string): void {
  const reason = status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : 'Bad Gateway';
  const body = Buffer.from(message);
  client.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${message}`,
  );
}

function listen(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}
