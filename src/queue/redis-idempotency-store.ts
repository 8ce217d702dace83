import type { Redis } from 'ioredis';
import type { IdempotencyStore } from '../domain/ports.js';
import { shortHash } from '../lib/ids.js';

/**
 * Delivery keys kept in Redis with an expiry, so that a redelivery finds its task even after the
 * BullMQ job was removed. Keys are hashed: they come from outside and may be long or contain `:`.
 */
export function createRedisIdempotencyStore({
  redis,
  prefix,
  ttlSeconds = 7 * 86_400,
}: {
  redis: Redis;
  prefix: string;
  ttlSeconds?: number;
}): IdempotencyStore {
  const key = (k: string) => `${prefix}delivery:${shortHash(k, 32)}`;
  return {
    async claim(k, taskId) {
      const set = await redis.set(key(k), taskId, 'EX', ttlSeconds, 'NX');
      if (set === 'OK') return taskId;
      return (await redis.get(key(k))) ?? taskId;
    },
    async transfer(k, from, to) {
      await redis.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'KEEPTTL') end return 0",
        1,
        key(k),
        from,
        to,
      );
    },
    async release(k, taskId) {
      await redis.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
        1,
        key(k),
        taskId,
      );
    },
  };
}
