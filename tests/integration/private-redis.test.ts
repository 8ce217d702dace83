import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ensureRedis, redisAnswers, startPrivateRedis } from '../../src/demo/private-redis.js';
import { REDIS_URL } from '../fakes/redis.js';

/** A loopback port that was free a moment ago: nothing listens there. */
async function deadRedisUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `redis://127.0.0.1:${port}`;
}

async function maxmemoryPolicy(url: string): Promise<string | undefined> {
  const redis = new Redis(url);
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    return reply[1];
  } finally {
    redis.disconnect();
  }
}

describe('ensureRedis', () => {
  it('starts a private redis-server when nothing answers, which answers PING until it is stopped', async () => {
    const dead = await deadRedisUrl();
    expect(await redisAnswers(dead)).toBe(false);

    const redis = await ensureRedis(dead);
    const answered = await redisAnswers(redis.url);
    const policy = await maxmemoryPolicy(redis.url);
    await redis.started?.stop();

    expect(redis.started).toBeDefined();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.started?.port}`);
    expect(redis.url).not.toBe(dead);
    expect(answered).toBe(true);
    expect(policy).toBe('noeviction');
    expect(await redisAnswers(redis.url)).toBe(false);
  });

  it('uses the Redis that answers and starts nothing', async () => {
    const redis = await ensureRedis(REDIS_URL);

    expect(redis).toEqual({ url: REDIS_URL });
  });
});

describe('startPrivateRedis', () => {
  it('names the command when it cannot be run', async () => {
    const start = startPrivateRedis({ command: '/nonexistent/redis-server' });

    await expect(start).rejects.toThrow(/\/nonexistent\/redis-server could not be run: .*ENOENT/);
  });

  it('passes on what the server said when it exits before it is ready', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'patchbay-redis-test-'));
    const fake = path.join(dir, 'redis-server');
    await writeFile(fake, '#!/bin/sh\necho "*** FATAL CONFIG FILE ERROR ***" >&2\nexit 1\n', { mode: 0o755 });

    const start = startPrivateRedis({ command: fake });

    await expect(start).rejects.toThrow(/did not start \(exit 1\): \*\*\* FATAL CONFIG FILE ERROR/);
    await rm(dir, { recursive: true, force: true });
  });
});
