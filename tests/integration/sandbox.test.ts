import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PatchbayError } from '../../src/domain/errors.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createSandbox } from '../../src/sandbox/create-sandbox.js';
import { listHostAddresses } from '../../src/sandbox/internet-namespace.js';
import { probeSandbox } from '../../src/sandbox/probe-sandbox.js';
import type { SandboxRunRequest } from '../../src/sandbox/types.js';
import { processStarted, waitUntilGone } from '../fakes/host-processes.js';
import { REDIS_URL } from '../fakes/redis.js';

const log = createSilentLogger();
const bwrap = createSandbox({ mode: 'bwrap', log });
const unsandboxed = createSandbox({ mode: 'none', log });
const SECRETS = {
  GITHUB_TOKEN: 'ghs_secret',
  OPENAI_API_KEY: 'sk-secret-key',
  REDIS_URL,
};
/** The tests' Redis: 6379, or the private redis-server the global set-up started on another port. */
const redis = new URL(REDIS_URL);
const REDIS_PORT = redis.port || '6379';
/** Talks RESP to Redis with bash alone: prints +PONG when the tests' Redis is reachable. */
const REDIS_PING = `exec 3<>/dev/tcp/${redis.hostname}/${REDIS_PORT} && printf 'PING\\r\\n' >&3 && head -c 5 <&3`;
const hostEnv: Record<string, string | undefined> = {};

let workdir: string;

function req(command: string, over: Partial<SandboxRunRequest> = {}): SandboxRunRequest {
  return { command, workdir, network: 'none', timeoutMs: 20_000, ...over };
}

beforeAll(() => {
  for (const key of Object.keys(SECRETS)) hostEnv[key] = process.env[key];
  Object.assign(process.env, SECRETS);
});

afterAll(() => {
  for (const [key, value] of Object.entries(hostEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

beforeEach(async () => {
  workdir = await mkdtemp(path.join(tmpdir(), 'patchbay-sandbox-test-'));
});

afterEach(async () => {
  await rm(workdir, { recursive: true, force: true });
});

describe('bwrap sandbox: environment', () => {
  it('gives the command the allowlist only, whatever secrets the host holds', async () => {
    const res = await bwrap.run(req('env; echo ---; cat /proc/1/environ /proc/*/environ | tr "\\0" "\\n"'));

    expect(res.exitCode).toBe(0);
    expect(res.output).toContain('HOME=/home/agent');
    expect(res.output).toContain('CI=true');
    for (const value of [...Object.keys(SECRETS), ...Object.values(SECRETS)])
      expect(res.output).not.toContain(value);
  });

  it('adds the caller’s extra variables', async () => {
    const res = await bwrap.run(req('echo "$NODE_ENV"', { env: { NODE_ENV: 'test' } }));

    expect(res.output).toBe('test\n');
  });
});

describe('bwrap sandbox: filesystem', () => {
  it('shows only the system, its own /proc, /dev, /tmp, HOME and /workspace at the root', async () => {
    const res = await bwrap.run(req('ls -A /'));

    const allowed = [
      'bin',
      'dev',
      'etc',
      'home',
      'lib',
      'lib32',
      'lib64',
      'libx32',
      'proc',
      'sbin',
      'tmp',
      'usr',
      'workspace',
    ];
    expect(
      res.output
        .trim()
        .split('\n')
        .filter((e) => !allowed.includes(e)),
    ).toEqual([]);
  });

  it('hides Patchbay’s files, this test’s directory, the host’s /tmp and secrets in /etc', async () => {
    const sentinel = path.join(tmpdir(), `patchbay-sentinel-${process.pid}`);
    await writeFile(sentinel, 'host');
    const checks = [
      '/work',
      import.meta.dirname,
      process.cwd(),
      sentinel,
      '/etc/shadow',
      '/etc/ssl/private',
      '/root',
    ];

    const res = await bwrap.run(req(checks.map((p) => `test -e '${p}' && echo "VISIBLE ${p}"`).join('; ')));
    await rm(sentinel);

    expect(res.output).toBe('');
    expect(existsSync(import.meta.dirname)).toBe(true);
  });

  it('runs in a writable /workspace whose changes appear in the clone on the host', async () => {
    const res = await bwrap.run(req('pwd && echo changed > made-inside.txt'));

    expect(res.output).toBe('/workspace\n');
    expect(await readFile(path.join(workdir, 'made-inside.txt'), 'utf8')).toBe('changed\n');
  });

  it('gives an empty, writable HOME and /tmp; the rest of the root is read-only', async () => {
    const res = await bwrap.run(
      req('ls -A "$HOME" | wc -l; touch "$HOME/a" /tmp/b && echo ok; touch /c || echo denied'),
    );

    expect(res.output).toMatch(/^0\nok\n.*Read-only file system\ndenied\n$/s);
  });

  it('mounts read-only paths at the same place, readable but not writable', async () => {
    const mirror = await mkdtemp(path.join(tmpdir(), 'patchbay-mirror-'));
    await writeFile(path.join(mirror, 'HEAD'), 'ref: refs/heads/main\n');

    const res = await bwrap.run(
      req(`cat ${mirror}/HEAD && touch ${mirror}/evil`, { readOnlyPaths: [mirror] }),
    );
    const evil = existsSync(path.join(mirror, 'evil'));
    await rm(mirror, { recursive: true, force: true });

    expect(res.output).toContain('ref: refs/heads/main');
    expect(res.output).toContain('Read-only file system');
    expect(res.exitCode).not.toBe(0);
    expect(evil).toBe(false);
  });
});

describe('bwrap sandbox: processes', () => {
  it('sees only its own processes', async () => {
    const res = await bwrap.run(req('ps -e -o comm= ; echo ---; ls /proc | grep -cE "^[0-9]+$"'));

    const [ps = '', count = ''] = res.output.split('---\n');
    expect(ps.trim().split('\n').sort()).toEqual(['bash', 'bwrap', 'ps']);
    expect(Number(count)).toBeLessThanOrEqual(4);
  });

  it('holds no file descriptors but stdin, stdout and stderr', async () => {
    // No pipeline: while bash sets one up it holds the pipes' fds itself, which `ls` could see.
    const res = await bwrap.run(req('ls /proc/$$/fd > /tmp/fds; tr "\\n" " " < /tmp/fds'));

    expect(res.output).toBe('0 1 2 ');
  });

  it('passes exit codes through', async () => {
    expect((await bwrap.run(req('exit 3'))).exitCode).toBe(3);
    expect((await bwrap.run(req('true'))).exitCode).toBe(0);
  });

  // The sleeps outlast the test's own timeout: each run below returns only if it does not wait for them.
  it('kills the whole sandbox at the timeout, background grandchildren included', async () => {
    const res = await bwrap.run(
      req('(sleep 97.101 &) ; sleep 97.102 & echo started; wait', { timeoutMs: 500 }),
    );

    expect(res).toMatchObject({ timedOut: true, aborted: false, exitCode: null, output: 'started\n' });
    expect(await waitUntilGone('97.101')).toBe(true);
    expect(await waitUntilGone('97.102')).toBe(true);
  });

  it('returns once the command exits even if a background child holds the output open', async () => {
    const res = await bwrap.run(req('sleep 97.103 & echo done', { timeoutMs: 60_000 }));

    expect(res).toMatchObject({ exitCode: 0, output: 'done\n', timedOut: false });
    expect(await waitUntilGone('97.103')).toBe(true);
  });

  it('kills the sandbox when the signal aborts, and never starts on an aborted signal', async () => {
    const controller = new AbortController();
    void processStarted('97.104').then(() => controller.abort());

    const res = await bwrap.run(req('sleep 97.104', { signal: controller.signal }));
    const never = await bwrap.run(req(`touch never`, { signal: AbortSignal.abort() }));

    expect(res).toMatchObject({ aborted: true, timedOut: false, exitCode: null });
    expect(await waitUntilGone('97.104')).toBe(true);
    expect(never.aborted).toBe(true);
    expect(existsSync(path.join(workdir, 'never'))).toBe(false);
  });
});

describe('bwrap sandbox: output', () => {
  it('merges stdout and stderr in arrival order', async () => {
    const res = await bwrap.run(req('echo one; echo two >&2; echo three'));

    expect(res.output).toBe('one\ntwo\nthree\n');
  });

  it('keeps the head and the tail of long output and counts the middle', async () => {
    const full = Array.from({ length: 200_000 }, (_, i) => `${i + 1}\n`).join('');

    const res = await bwrap.run(req('seq 1 200000', { maxOutputBytes: 1000 }));

    expect(res.droppedBytes).toBe(Buffer.byteLength(full) - 1000);
    expect(res.output.startsWith(full.slice(0, 500))).toBe(true);
    expect(res.output.endsWith(full.slice(-500))).toBe(true);
    expect(res.output).toContain(`${res.droppedBytes} bytes of output dropped`);
  });

  it('survives a command printing 200 MB with the default 1 MiB cap', async () => {
    const res = await bwrap.run(req('head -c 200000000 /dev/zero | tr "\\0" x'));

    expect(res.exitCode).toBe(0);
    expect(res.droppedBytes).toBe(200_000_000 - 1024 * 1024);
    expect(res.output.length).toBeLessThan(1024 * 1024 + 100);
  });
});

describe('bwrap sandbox: network', () => {
  it('reaches Redis when not sandboxed, which proves the probe below can fail', async () => {
    const res = await unsandboxed.run(req(REDIS_PING));

    expect(res.output).toBe('+PONG');
  });

  it("has no network at all in 'none': the host's Redis is unreachable", async () => {
    const res = await bwrap.run(req(`${REDIS_PING}; echo; ip -4 route show | wc -l`));

    expect(res.output).not.toContain('PONG');
    expect(res.output).toMatch(/connect: (Network is unreachable|Connection refused)/);
    expect(res.output.trim().endsWith('0')).toBe(true);
  });

  describe("'internet' (setup commands)", () => {
    let server: Server;
    let port: number;

    beforeAll(async () => {
      server = createServer((socket) => socket.end('HOSTSERVICE\n'));
      await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
      port = (server.address() as { port: number }).port;
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('gets its own namespace with a default route through slirp’s tap device and its DNS', async () => {
      const res = await bwrap.run(
        req('ip route show default; cat /etc/resolv.conf', { network: 'internet' }),
      );

      expect(res.output).toContain('default via 10.0.2.2 dev tap0');
      expect(res.output).toContain('nameserver 10.0.2.3');
    });

    it("cannot reach the host's loopback, the slirp gateway, the host's own address or link-local", async () => {
      const hostAddress = listHostAddresses()[0] ?? '127.0.0.1';
      const targets = [
        `127.0.0.1/${REDIS_PORT}`,
        `10.0.2.2/${REDIS_PORT}`,
        `${hostAddress}/${port}`,
        '169.254.169.254/80',
      ];
      const probe = (t: string) => `timeout 5 bash -c 'cat < /dev/tcp/${t}' && echo "REACHED ${t}"`;

      const res = await bwrap.run(
        req(`${REDIS_PING}; ${targets.map(probe).join('; ')}`, { network: 'internet' }),
      );

      expect(res.output).not.toContain('PONG');
      expect(res.output).not.toContain('HOSTSERVICE');
      expect(res.output).not.toContain('REACHED');
    });

    it('cannot remove the blocking routes', async () => {
      const res = await bwrap.run(
        req('ip route del 169.254.0.0/16 && echo REMOVED; ip route', { network: 'internet' }),
      );

      expect(res.output).not.toContain('REMOVED');
      expect(res.output).toContain('prohibit 169.254.0.0/16');
    });
  });
});

describe("'none' sandbox mode", () => {
  it('still clears the environment and runs in the workdir with an empty HOME', async () => {
    const res = await unsandboxed.run(req('pwd; ls -A "$HOME" | wc -l; env'));

    expect(res.output.startsWith(`${realpathSync(workdir)}\n0\n`)).toBe(true);
    for (const value of Object.values(SECRETS)) expect(res.output).not.toContain(value);
  });

  it('kills the process group at the timeout and after the command exits', async () => {
    const timed = await unsandboxed.run(req('sleep 97.201 & sleep 97.202', { timeoutMs: 500 }));
    const exited = await unsandboxed.run(req('sleep 97.203 & echo done'));

    expect(timed).toMatchObject({ timedOut: true, exitCode: null });
    expect(exited).toMatchObject({ exitCode: 0, output: 'done\n' });
    for (const marker of ['97.201', '97.202', '97.203']) expect(await waitUntilGone(marker)).toBe(true);
  });
});

describe('bad input', () => {
  it('refuses a missing workdir before spawning anything', async () => {
    const marker = path.join(workdir, 'spawned');

    const run = unsandboxed.run(req(`touch ${marker}`, { workdir: path.join(workdir, 'missing') }));

    await expect(run).rejects.toThrow(/workdir does not exist/);
    await expect(run).rejects.toBeInstanceOf(PatchbayError);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses relative paths and a read-only path that would expose the host root', async () => {
    await expect(bwrap.run(req('true', { workdir: 'relative' }))).rejects.toThrow(/absolute/);
    await expect(bwrap.run(req('true', { readOnlyPaths: ['/'] }))).rejects.toThrow(/cover the sandbox/);
  });
});

describe('probeSandbox', () => {
  it('describes a working bubblewrap with internet for setup', async () => {
    const probe = await probeSandbox({ mode: 'bwrap' });

    expect(probe.mode).toBe('bwrap');
    expect(probe.description).toMatch(/^bubblewrap .*slirp4netns/);
    expect(probe.warning).toBeUndefined();
  });

  it('throws sandbox_unavailable with a hint when bwrap is missing or cannot run', async () => {
    const fake = path.join(workdir, 'bin');
    await mkdir(fake);
    await writeFile(
      path.join(fake, 'bwrap'),
      '#!/bin/sh\necho "bwrap: No permissions to create a new namespace" >&2\nexit 1\n',
      {
        mode: 0o755,
      },
    );

    const missing = probeSandbox({ mode: 'bwrap', bwrapPath: '/nonexistent/bwrap' });
    const broken = probeSandbox({ mode: 'bwrap', bwrapPath: path.join(fake, 'bwrap') });

    await expect(missing).rejects.toMatchObject({
      code: 'sandbox_unavailable',
      hint: expect.stringContaining('bubblewrap'),
    });
    await expect(broken).rejects.toMatchObject({
      code: 'sandbox_unavailable',
      message: expect.stringContaining('No permissions'),
    });
  });

  it("warns loudly for mode 'none'", async () => {
    const probe = await probeSandbox({ mode: 'none' });

    expect(probe.warning).toMatch(/WITHOUT isolation/);
  });
});
