import type { Redis } from 'ioredis';
import type { KeyValueStore } from '../domain/ports.js';
import { tryLease } from './redis-lease.js';

/**
 * One integration's state under `<prefix>kv:<namespace>:<key>`, always with an expiry: an integration
 * reaches its own keys only.
 */
export function createRedisKeyValue({
  redis,
  prefix,
  namespace,
}: {
  redis: Redis;
  prefix: string;
  namespace: string;
}): KeyValueStore {
  const key = (k: string) => `${prefix}kv:${namespace}:${k}`;
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
    tryLock: (k, ttlSeconds) => tryLease(redis, key(`lock:${k}`), ttlSeconds * 1_000),
  };
}
