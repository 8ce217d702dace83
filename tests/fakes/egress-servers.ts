import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { ResolveName } from '../../src/sandbox/egress-resolver.js';

/** An HTTP server on 127.0.0.1:0 that answers every request with `served <Host> <path>`. */
export async function startTargetServer(): Promise<{
  port: number;
  hosts: string[];
  close(): Promise<void>;
}> {
  const hosts: string[] = [];
  const server = createHttpServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`served ${req.headers.host} ${req.url}\n`);
  });
  const port = await listen(server);
  return { port, hosts, close: () => close(server) };
}

/**
 * A test-only resolver: every name in `names` leads to 127.0.0.1, where the test's servers listen.
 * Production never has it: its resolver refuses loopback (createPublicResolver).
 */
export function loopbackResolver(names: readonly string[]): ResolveName & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (name: string) => {
    asked.push(name);
    return names.includes(name)
      ? { ok: true as const, addresses: ['127.0.0.1'] }
      : { ok: false as const, reason: 'unresolved' as const, detail: 'ENOTFOUND' };
  };
  return Object.assign(resolve, { asked });
}

/**
 * An upstream proxy on loopback that requires `Proxy-Authorization` and tunnels every CONNECT to the
 * target server's port, whatever name it was asked for; it records what it was asked.
 */
export async function startUpstreamProxy(
  authorization: string,
  targetPort: number,
): Promise<{
  url: (user: string) => string;
  port: number;
  connects: Array<{ authority: string; authorized: boolean }>;
  close(): Promise<void>;
}> {
  const connects: Array<{ authority: string; authorized: boolean }> = [];
  const server = createHttpServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: IncomingMessage, client: Socket) => {
    const authorized = req.headers['proxy-authorization'] === authorization;
    connects.push({ authority: req.url ?? '', authorized });
    if (!authorized) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const remote = connect(targetPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      remote.pipe(client);
      client.pipe(remote);
    });
    remote.on('error', () => client.destroy());
    client.on('error', () => remote.destroy());
  });
  const port = await listen(server);
  return {
    port,
    connects,
    url: (userInfo) => `http://${userInfo}@127.0.0.1:${port}`,
    close: () => close(server),
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
