/**
 * What the agent's network proxy adds: per request (a plain HTTP GET to a server on loopback, direct
 * against through the proxy's Unix socket with a CONNECT tunnel, and through the in-sandbox forwarder
 * too), and per command (a bwrap command with no network against one with the proxy, whose forwarder
 * starts first). Run with `npx tsx bench/proxy.ts`.
 */

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createSilentLogger } from '../src/lib/logger.js';
import { createSandbox } from '../src/sandbox/create-sandbox.js';
import { createEgressProxy } from '../src/sandbox/egress-proxy.js';
import { FORWARDER_FILE, PROXY_SOCKET_FILE } from '../src/sandbox/proxy-forwarder.js';
import { loopbackResolver, startTargetServer } from '../tests/fakes/egress-servers.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const COMMANDS = Number(process.env.BENCH_COMMANDS ?? 15);
const FORWARDER_PORT = 41_000 + Math.floor(Math.random() * 1000);

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)] ?? Number.NaN;

/** One GET over a fresh connection made by `socket` (direct, or a tunnel through the proxy). */
function get(options: RequestOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ ...options, path: '/x', headers: { host: 'registry.example.org' } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
}

/** A CONNECT tunnel to the target through a proxy listening at `where` (a Unix socket or a TCP port). */
function tunnel(
  where: { path: string } | { port: number },
  port: number,
): Promise<import('node:net').Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(where as { path: string });
    socket.once('error', reject);
    socket.write(
      `CONNECT registry.example.org:${port} HTTP/1.1\r\nhost: registry.example.org:${port}\r\n\r\n`,
    );
    socket.once('data', (chunk) => {
      if (!chunk.toString().startsWith('HTTP/1.1 200')) reject(new Error(chunk.toString()));
      else resolve(socket);
    });
  });
}

async function timeEach(n: number, run: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return times;
}

async function main(): Promise<void> {
  const log = createSilentLogger();
  const target = await startTargetServer();
  const proxy = createEgressProxy({ resolve: loopbackResolver(['registry.example.org']), log });
  const session = await proxy.open({ taskId: 'bench', domains: ['registry.example.org'] });
  const socketPath = path.join(session.dir, PROXY_SOCKET_FILE);
  const forwarder = spawn(
    process.execPath,
    [path.join(session.dir, FORWARDER_FILE), socketPath, String(FORWARDER_PORT)],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  await new Promise((resolve) => forwarder.stdout?.once('data', resolve));
  const workdir = await mkdtemp(path.join(tmpdir(), 'patchbay-bench-proxy-'));
  const sandbox = createSandbox({ mode: 'bwrap', log });
  try {
    const direct = await timeEach(REQUESTS, () =>
      get({ host: '127.0.0.1', port: target.port, agent: false }),
    );
    const viaSocket = await timeEach(REQUESTS, async () => {
      const socket = await tunnel({ path: socketPath }, target.port);
      await get({ createConnection: () => socket });
    });
    const viaForwarder = await timeEach(REQUESTS, async () => {
      const socket = await tunnel({ port: FORWARDER_PORT }, target.port);
      await get({ createConnection: () => socket });
    });
    const run = (network: 'none' | 'proxy') => async () => {
      const req = { command: 'true', workdir, timeoutMs: 30_000 };
      const res = await sandbox.run(
        network === 'proxy' ? { ...req, network, proxyDir: session.dir } : { ...req, network },
      );
      if (res.exitCode !== 0) throw new Error(res.output);
    };
    const offline = await timeEach(COMMANDS, run('none'));
    const proxied = await timeEach(COMMANDS, run('proxy'));
    const rows: Array<[string, number[]]> = [
      ['GET on loopback, direct (baseline)', direct],
      ["GET through the proxy's Unix socket (CONNECT)", viaSocket],
      ['GET through forwarder + proxy (CONNECT)', viaForwarder],
      ['bwrap command `true`, network none (baseline)', offline],
      ['bwrap command `true`, network proxy (forwarder starts)', proxied],
    ];
    console.log(`| what | n | p50 | p95 |\n| --- | ---: | ---: | ---: |`);
    for (const [name, xs] of rows) {
      console.log(
        `| ${name} | ${xs.length} | ${pct(xs, 0.5).toFixed(2)} ms | ${pct(xs, 0.95).toFixed(2)} ms |`,
      );
    }
  } finally {
    forwarder.kill();
    await session.close();
    await target.close();
    await rm(workdir, { recursive: true, force: true });
  }
}

await main();
