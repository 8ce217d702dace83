import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";
const RENEW =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";

/** A key held by one holder until it expires or is released; only its holder can renew or release it. */
export interface RedisLease {
  /** Extends the lease; false when it expired and someone else holds the key now. */
  renew(): Promise<boolean>;
  /** Gives the key up, atomically: a lease that expired and was taken by another is left alone. */
  release(): Promise<void>;
}

/**
 * Takes `key` for `ttlMs` unless someone holds it. The holder's token is unique per call (`owner`
 * only makes it readable), so two holders never mistake each other's lease, and release and renew
 * compare and act in one step.
 */
export async function tryLease(
  redis: Redis,
  key: string,
  ttlMs: number,
  owner = String(process.pid),
): Promise<RedisLease | null> {
  const holder = `${owner}:${randomBytes(8).toString('hex')}`;
  if ((await redis.set(key, holder, 'PX', ttlMs, 'NX')) !== 'OK') return null;
  return {
    async renew() {
      return (await redis.eval(RENEW, 1, key, holder, String(ttlMs))) === 1;
    },
    async release() {
      await redis.eval(RELEASE, 1, key, holder).catch(() => undefined);
    },
  };
}
