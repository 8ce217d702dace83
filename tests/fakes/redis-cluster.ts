import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);

/** Resolves once the node answers PING. */
async function answering(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await run('redis-cli', ['-p', String(port), 'ping']).then(
      (r) => r.stdout.trim() === 'PONG',
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server on ${port} never answered`);
}

/**
 * A private three-node Redis Cluster (masters only) in a temp dir, on free loopback ports, formed
 * with `redis-cli --cluster create`; `url` names its first node. Stopped and removed by `stop`.
 */
export async function startRedisCluster() {
  const dir = await mkdtemp(join(tmpdir(), 'patchbay-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const nodes: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes'],
        ...['--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no'],
        ...['--dir', dir, '--logfile', '', '--daemonize', 'no'],
      ],
      { cwd: dir, stdio: 'ignore' },
    ),
  );
  await Promise.all(ports.map(answering));
  await run('redis-cli', [
    '--cluster',
    'create',
    ...ports.map((p) => `127.0.0.1:${p}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  // The slots are assigned; the nodes agree on them a moment later.
  for (let i = 0; i < 400; i++) {
    const info = await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'info']);
    if (/cluster_state:ok/.test(info.stdout)) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url: `redis://127.0.0.1:${ports[0]}`,
    ports,
    async stop() {
      for (const node of nodes) node.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
