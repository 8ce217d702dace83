import type { Redis } from 'ioredis';

const HOUR_MS = 3_600_000;

/**
 * A sliding hour per hook: a sorted set of delivery ids scored by when each came. A delivery seen
 * within the hour is let through without counting again (its task answers the repeat); a new one
 * is counted only while the hour holds fewer than the limit. Returns {allowed, the ms until the
 * oldest leaves the hour}.
 */
const TAKE = `
redis.call('zremrangebyscore', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[3]))
if redis.call('zscore', KEYS[1], ARGV[2]) then return {1, 0} end
if redis.call('zcard', KEYS[1]) >= tonumber(ARGV[4]) then
  local oldest = redis.call('zrange', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + tonumber(ARGV[3]) - tonumber(ARGV[1])}
end
redis.call('zadd', KEYS[1], ARGV[1], ARGV[2])
redis.call('pexpire', KEYS[1], ARGV[3])
return {1, 0}`;

/** `per_hour` of each hook, counted in `<prefix>hook-rate:{<name>}` (capped by the limit, expires). */
export function createRedisHookLimiter({ redis, prefix }: { redis: Redis; prefix: string }) {
  return {
    async take(hook: string, delivery: string, perHour: number, now: number) {
      const [allowed, waitMs] = (await redis.eval(
        TAKE,
        1,
        `${prefix}hook-rate:{${hook}}`,
        now,
        delivery,
        HOUR_MS,
        perHour,
      )) as [number, number];
      return { allowed: allowed === 1, retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) };
    },
  };
}
