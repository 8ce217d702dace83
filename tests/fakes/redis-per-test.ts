import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach } from 'vitest';
import { REDIS_URL } from './redis.js';

/**
 * A fresh key prefix per test and the connections a test opens (one per simulated process), its
 * keys deleted and its connections closed after it. Call at the top of a test file.
 */
export function redisPerTest(): { prefix(): string; connect(): Redis } {
  let prefix = '';
  const connections: Redis[] = [];
  const connect = () => {
    const redis = new Redis(REDIS_URL);
    connections.push(redis);
    return redis;
  };
  beforeEach(() => {
    prefix = `pbtest:${randomBytes(4).toString('hex')}:`;
  });
  afterEach(async () => {
    const redis = connect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    for (const c of connections.splice(0)) c.disconnect();
  });
  return { prefix: () => prefix, connect };
}
