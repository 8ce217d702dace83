import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNames, connectRedis, redisOptionsFromUrl } from '../../src/queue/redis-connection.js';
import { freePort } from '../fakes/free-port.js';

const run = promisify(execFile);

describe('REDIS_URL', () => {
  it('takes TLS (rediss://), a username and a password (percent-decoded) and a database from the URL', () => {
    const options = redisOptionsFromUrl('rediss://patchbay:p%40ss%3Aw0rd@redis.acme.example:6380/2');

    expect(options).toEqual({
      host: 'redis.acme.example',
      port: 6380,
      username: 'patchbay',
      password: 'p@ss:w0rd',
      db: 2,
      tls: { servername: 'redis.acme.example' },
    });
    expect(redisOptionsFromUrl('redis://127.0.0.1:6379')).toEqual({ host: '127.0.0.1', port: 6379 });
  });

  it('puts keys and queues under hash tags on a Cluster only, keeping names as they were elsewhere', () => {
    const names = { prefix: 'patchbay:', queueName: 'patchbay-tasks' };

    expect(clusterNames({ url: 'redis://x', cluster: false }, names)).toEqual(names);
    expect(clusterNames({ url: 'redis://x', cluster: true }, names)).toEqual({
      prefix: '{patchbay}:',
      queueName: '{patchbay-tasks}',
    });
    expect(
      clusterNames({ url: 'redis://x', cluster: true }, { prefix: 'pb:{a}:', queueName: '{q}' }),
    ).toEqual({
      prefix: 'pb:{a}:',
      queueName: '{q}',
    });
  });
});

describe('a TLS redis-server with an ACL user', () => {
  let dir: string;
  let server: ChildProcess;
  let port: number;
  let ca: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'patchbay-tls-'));
    const at = (f: string) => join(dir, f);
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=Test CA',
      '-keyout',
      at('ca.key'),
      '-out',
      at('ca.crt'),
    ]);
    await run('openssl', [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-keyout',
      at('server.key'),
      '-out',
      at('server.csr'),
    ]);
    await run('bash', ['-c', `printf 'subjectAltName=DNS:localhost' > ${at('san.ext')}`]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      at('server.csr'),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      at('san.ext'),
      '-out',
      at('server.crt'),
    ]);
    ca = await readFile(at('ca.crt'));
    port = await freePort();
    server = spawn(
      'redis-server',
      [
        ...['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1'],
        ...[
          '--tls-cert-file',
          at('server.crt'),
          '--tls-key-file',
          at('server.key'),
          '--tls-ca-cert-file',
          at('ca.crt'),
        ],
        ...['--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no', '--dir', dir],
        ...['--user', 'default', 'off', '--user', 'patchbay', 'on', '>s3cret:pw', '~*', '&*', '+@all'],
      ],
      { stdio: 'ignore' },
    );
    await waitForPort(port);
  }, 60_000);
  afterAll(async () => {
    server?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('connects over TLS as the URL’s user, and is refused with another password', async () => {
    const good = connectRedis(
      { url: `rediss://patchbay:s3cret%3Apw@localhost:${port}`, cluster: false },
      { tls: { ca, servername: 'localhost' }, lazyConnect: true, maxRetriesPerRequest: 0 },
    );
    const bad = connectRedis(
      { url: `rediss://patchbay:wrong@localhost:${port}`, cluster: false },
      {
        tls: { ca, servername: 'localhost' },
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      },
    );

    const errors: string[] = [];
    bad.on('error', (err: Error) => errors.push(err.message));
    await good.connect();
    await good.set('patchbay:tls-check', 'ok');
    const value = await good.get('patchbay:tls-check');
    const who = await good.call('ACL', 'WHOAMI');
    const refused = await bad.connect().then(
      () => 'connected',
      (err: Error) => err.message,
    );
    good.disconnect();
    bad.disconnect();

    expect(value).toBe('ok');
    expect(who).toBe('patchbay');
    expect(refused).not.toBe('connected');
    expect(errors.join('\n')).toMatch(/WRONGPASS/);
  });
});

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.once('listening', () => socket.close(() => resolve(false)));
      socket.once('error', () => resolve(true));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on ${port}`);
}
