import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createSandbox } from '../../src/sandbox/create-sandbox.js';
import { createEgressProxy, type EgressSession } from '../../src/sandbox/egress-proxy.js';
import { createPublicResolver, type ResolveName } from '../../src/sandbox/egress-resolver.js';
import { parseUpstreamProxy } from '../../src/sandbox/egress-upstream.js';
import { PROXY_PORT } from '../../src/sandbox/proxy-forwarder.js';
import { loopbackResolver, startTargetServer, startUpstreamProxy } from '../fakes/egress-servers.js';
import { REDIS_URL } from '../fakes/redis.js';

const log = createSilentLogger();
const bwrap = createSandbox({ mode: 'bwrap', log });
const redis = new URL(REDIS_URL);
const REDIS_PING = `exec 3<>/dev/tcp/127.0.0.1/${redis.port || '6379'} && printf 'PING\\r\\n' >&3 && head -c 5 <&3`;
const DOMAINS = ['registry.example.org', 'files.example.net'];

let workdir: string;
let target: Awaited<ReturnType<typeof startTargetServer>>;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  workdir = await mkdtemp(path.join(tmpdir(), 'patchbay-egress-test-'));
  target = await startTargetServer();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await target.close();
  await rm(workdir, { recursive: true, force: true });
});

async function openSession(resolve: ResolveName, upstream?: string): Promise<EgressSession> {
  const proxy = createEgressProxy({
    resolve,
    log,
    ...(upstream ? { upstream: parseUpstreamProxy(upstream, 'HTTPS_PROXY') } : {}),
  });
  const session = await proxy.open({ taskId: 't1', domains: DOMAINS });
  cleanups.push(() => session.close());
  return session;
}

function runProxied(session: EgressSession, command: string) {
  return bwrap.run({ command, workdir, network: 'proxy', proxyDir: session.dir, timeoutMs: 20_000 });
}

/**
 * curl through the proxy variables; `-p` forces a CONNECT tunnel even for an http:// URL. `--noproxy ''`
 * overrides NO_PROXY, so that loopback names go to the proxy too.
 */
const curl = (url: string, tunnel = false) =>
  `curl -sS --noproxy '' --max-time 10 ${tunnel ? '-p ' : ''}${url}; echo "exit=$?"`;

describe('agent network through the filtering proxy (bwrap)', () => {
  it('reaches a listed name and its subdomain, over CONNECT and plain HTTP', async () => {
    const session = await openSession(loopbackResolver(['registry.example.org', 'cdn.files.example.net']));
    const port = target.port;

    const res = await runProxied(
      session,
      [
        curl(`http://registry.example.org:${port}/pkg`, true),
        curl(`http://cdn.files.example.net:${port}/tarball`),
        'echo "proxy=$HTTPS_PROXY"',
      ].join('; '),
    );

    expect(res.output).toContain(`served registry.example.org:${port} /pkg\nexit=0`);
    expect(res.output).toContain(`served cdn.files.example.net:${port} /tarball\nexit=0`);
    expect(res.output).toContain(`proxy=http://127.0.0.1:${PROXY_PORT}`);
    expect(session.blocked()).toEqual([]);
  });

  it('refuses a name that is not listed, without asking the resolver about it, and records it', async () => {
    const resolve = loopbackResolver(['registry.example.org', 'evil.example.com']);
    const session = await openSession(resolve);

    const res = await runProxied(
      session,
      [
        curl(`http://evil.example.com:${target.port}/`, true),
        curl(`http://evil.example.com:${target.port}/again`),
        curl(`http://notregistry.example.org:${target.port}/`),
      ].join('; '),
    );

    expect(res.output).toMatch(/403/);
    expect(res.output).not.toContain('served');
    expect(target.hosts).toEqual([]);
    expect(resolve.asked).toEqual([]);
    expect(session.blocked()).toEqual([
      { name: 'evil.example.com', reason: 'not_listed', count: 2 },
      { name: 'notregistry.example.org', reason: 'not_listed', count: 1 },
    ]);
  });

  it('refuses a listed name that resolves to a private or loopback address (production resolver)', async () => {
    const answers: Record<string, string> = {
      'registry.example.org': '10.1.2.3',
      'files.example.net': '127.0.0.1',
    };
    const resolve = createPublicResolver({
      lookup: async (name) => [{ address: answers[name] ?? '203.0.113.9', family: 4 }],
    });
    const session = await openSession(resolve);

    const res = await runProxied(
      session,
      [
        curl(`http://registry.example.org:${target.port}/`, true),
        curl(`http://files.example.net:${target.port}/`),
      ].join('; '),
    );

    expect(res.output).not.toContain('served');
    expect(target.hosts).toEqual([]);
    expect(session.blocked()).toEqual([
      { name: 'registry.example.org', reason: 'forbidden_address', range: 'private', count: 1 },
      { name: 'files.example.net', reason: 'forbidden_address', range: 'loopback', count: 1 },
    ]);
  });

  it("cannot reach the host's loopback: not directly (Redis) nor through the proxy by address", async () => {
    const session = await openSession(loopbackResolver(DOMAINS));

    const res = await runProxied(
      session,
      `${REDIS_PING} || echo NO_ROUTE; ${curl(`http://127.0.0.1:${target.port}/`)}; ${curl(`http://localhost:${target.port}/`, true)}`,
    );

    expect(res.output).toContain('NO_ROUTE');
    expect(res.output).not.toContain('+PONG');
    expect(res.output).not.toContain('served');
    expect(session.blocked().map((b) => b.name)).toEqual(['127.0.0.1', 'localhost']);
  });

  it("keeps 'none' without any route: no proxy variables, nothing reachable", async () => {
    const res = await bwrap.run({
      command: `echo "proxy=$HTTPS_PROXY"; ${REDIS_PING} || echo NO_ROUTE; ${curl(`http://127.0.0.1:${PROXY_PORT}/`)}`,
      workdir,
      network: 'none',
      timeoutMs: 20_000,
    });

    expect(res.output).toContain('proxy=\n');
    expect(res.output).toContain('NO_ROUTE');
    expect(res.output).toMatch(/exit=7/);
  });

  it('chains to an upstream proxy that needs credentials, which never enter the sandbox', async () => {
    const authorization = `Basic ${Buffer.from('corp-user:s3cret-pass').toString('base64')}`;
    const upstream = await startUpstreamProxy(authorization, target.port);
    cleanups.push(() => upstream.close());
    // The host's own environment holds the credentialed URL, as it would in production.
    const hostValue = process.env.HTTPS_PROXY;
    process.env.HTTPS_PROXY = upstream.url('corp-user:s3cret-pass');
    cleanups.push(async () => {
      if (hostValue === undefined) delete process.env.HTTPS_PROXY;
      else process.env.HTTPS_PROXY = hostValue;
    });
    // The host cannot resolve the name itself: the upstream does.
    const session = await openSession(loopbackResolver([]), process.env.HTTPS_PROXY);

    const res = await runProxied(
      session,
      `${curl('http://registry.example.org:8080/pkg', true)}; ${curl('http://files.example.net/plain')}; env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; cat /proc/*/cmdline 2>/dev/null | tr '\\0' ' '`,
    );

    expect(res.output).toContain('served registry.example.org:8080 /pkg\nexit=0');
    expect(res.output).toContain('served files.example.net /plain\nexit=0');
    expect(upstream.connects).toEqual([
      { authority: 'registry.example.org:8080', authorized: true },
      { authority: 'files.example.net:80', authorized: true },
    ]);
    for (const secret of [
      's3cret-pass',
      'corp-user',
      authorization,
      Buffer.from('corp-user:s3cret-pass').toString('base64'),
    ])
      expect(res.output).not.toContain(secret);
  });
});

describe("a task's sandbox under its limits", () => {
  it('starts the forwarder before the rlimits and reaches a listed name through it', async () => {
    const session = await openSession(loopbackResolver(['registry.example.org']));
    const MiB = 1024 * 1024;
    const limits = {
      memoryBytes: 512 * MiB,
      processes: 128,
      diskBytes: 256 * MiB,
      tmpBytes: 64 * MiB,
      cpuWeight: 100,
    };
    const task = await bwrap.openTask({ taskId: 'egress-limits', workdir, limits });
    cleanups.push(async () => void (await task.close()));

    const res = await task.run({
      command: curl(`http://registry.example.org:${target.port}/limited`, true),
      workdir,
      network: 'proxy',
      proxyDir: session.dir,
      timeoutMs: 20_000,
    });

    expect(res.output).toContain(`served registry.example.org:${target.port} /limited\nexit=0`);
    expect(res.limit).toBeUndefined();
  });
});

describe('the proxy on its socket', () => {
  it('ends a request whose resolver throws, and keeps answering the next', async () => {
    let calls = 0;
    const session = await openSession(async () => {
      calls += 1;
      if (calls === 1) throw new Error('resolver broke');
      return { ok: true, addresses: ['127.0.0.1'] };
    });
    const socketPath = path.join(session.dir, 'proxy.sock');

    const first = await connectOnce(socketPath, `registry.example.org:${target.port}`);
    const second = await connectOnce(socketPath, `registry.example.org:${target.port}`);

    expect(first).toBe('');
    expect(second).toMatch(/^HTTP\/1\.1 200/);
  });
});

/** Sends one CONNECT to the proxy's socket and returns the first chunk of the answer ('' when it closed). */
function connectOnce(socketPath: string, authority: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n\r\n`);
    socket.once('data', (chunk) => {
      resolve(chunk.toString());
      socket.destroy();
    });
    socket.once('close', () => resolve(''));
    socket.once('error', () => resolve(''));
  });
}
