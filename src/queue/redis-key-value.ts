import type { Redis } from 'ioredis';
import type { KeyValueStore } from '../domain/ports.js';

/** Integration state under `<prefix>kv:<key>`, always with an expiry. */
export function createRedisKeyValue({ redis, prefix }: { redis: Redis; prefix: string }): KeyValueStore {
  const key = (k: string) => `${prefix}kv:${k}`;
  return {
    get: (k) => redis.get(key(k)),
    async set(k, value, ttlSeconds) {
      await redis.set(key(k), value, 'EX', ttlSeconds);
    },
    async setIfAbsent(k, value, ttlSeconds) {
      return (await redis.set(key(k), value, 'EX', ttlSeconds, 'NX')) === 'OK';
    },
    async delete(k) {
      await redis.del(key(k));
    },
    take: (k) => redis.getdel(key(k)),
  };
}
