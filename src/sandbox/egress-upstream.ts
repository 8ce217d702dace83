import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { PatchbayError } from '../domain/errors.js';

/** The proxy the host itself must go through to reach the internet (HTTPS_PROXY / HTTP_PROXY). */
export interface UpstreamProxy {
  host: string;
  port: number;
  /** `Basic …` from the URL's user info: sent to the upstream only, never into a sandbox. */
  authorization?: string;
}

/**
 * Reads an `http://[user:password@]host:port` proxy URL. Only plain-HTTP proxies: the tunnel inside
 * is TLS end to end anyway. The error names the variable, never its value (it may hold a password).
 */
export function parseUpstreamProxy(url: string, variable: string): UpstreamProxy {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PatchbayError('invalid_config', `${variable} is not a URL`);
  }
  if (parsed.protocol !== 'http:' || !parsed.hostname) {
    throw new PatchbayError('invalid_config', `${variable} must be an http:// proxy URL with a host`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(parsed.port || 80);
  if (!parsed.username && !parsed.password) return { host, port };
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  return { host, port, authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

/** A raw TCP connection to `host:port`, resolved once connected or failed. */
export function connectDirect(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * A tunnel to `host:port` through the upstream proxy (CONNECT, with its credentials). The name goes to
 * the upstream as the sandbox asked for it, so that the upstream's own name rules apply.
 */
export function connectThroughUpstream(upstream: UpstreamProxy, host: string, port: number): Promise<Socket> {
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise((resolve, reject) => {
    const req = request({
      host: upstream.host,
      port: upstream.port,
      method: 'CONNECT',
      path: authority,
      headers: {
        host: authority,
        ...(upstream.authorization ? { 'proxy-authorization': upstream.authorization } : {}),
      },
    });
    req.once('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`upstream proxy answered ${res.statusCode}`));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once('error', reject);
    req.end();
  });
}

/** What of an upstream proxy URL must be redacted wherever it might show: the URL, its password, the header. */
export function upstreamSecrets(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const parsed = new URL(url);
    if (!parsed.password) return [];
    const upstream = parseUpstreamProxy(url, 'proxy');
    return [url, decodeURIComponent(parsed.password), upstream.authorization ?? ''].filter(Boolean);
  } catch {
    return [url];
  }
}
