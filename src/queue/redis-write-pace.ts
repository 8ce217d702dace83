import type { Redis } from 'ioredis';
import type { WritePace } from '../domain/write-pace.js';

/**
 * One hash per installation or token: `next` is when the next write may go (Redis's own clock, so
 * processes on machines with skewed clocks agree), `urgent` holds the next slot for an urgent write
 * until it is taken. Takes the slot and returns 0, or returns the ms to wait before asking again:
 * nothing is reserved while waiting, so an urgent write that comes later still goes first.
 * KEYS[1] the hash; ARGV[1] the gap (ms); ARGV[2] '1' for urgent.
 */
const ACQUIRE = `
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gap = tonumber(ARGV[1])
local nextAt = tonumber(redis.call('hget', KEYS[1], 'next') or '0')
local held = tonumber(redis.call('hget', KEYS[1], 'urgent') or '0')
local free = nextAt
if ARGV[2] ~= '1' and held > now then free = math.max(nextAt, held) end
if now >= free then
  redis.call('hset', KEYS[1], 'next', now + gap)
  if ARGV[2] == '1' then redis.call('hdel', KEYS[1], 'urgent') end
  redis.call('pexpire', KEYS[1], gap + 60000)
  return {0, now}
end
if ARGV[2] == '1' then
  redis.call('hset', KEYS[1], 'urgent', nextAt + gap)
  redis.call('pexpire', KEYS[1], nextAt + gap - now + 60000)
end
return {free - now, now}`;

/** Pushes `next` at least `ms` past now (GitHub's Retry-After). KEYS[1] the hash; ARGV[1] ms. */
const HOLD_OFF = `
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ = now + tonumber(ARGV[1])
local nextAt = tonumber(redis.call('hget', KEYS[1], 'next') or '0')
if until_ > nextAt then redis.call('hset', KEYS[1], 'next', until_) end
redis.call('pexpire', KEYS[1], math.max(until_, nextAt) - now + 60000)
return 0`;

/** A waiter asks again at most this often, so a hold-off another process sets is seen soon. */
const MAX_POLL_MS = 2_000;

/**
 * The write pace shared through Redis: `<prefix>{ghpace:<key>}`, one key per installation or token
 * hash (its own hash tag, so Redis Cluster is fine), expiring a minute after its last use. `gapMs`
 * is the spacing between two writes under one key; 0 lets every write through at once.
 */
export function createRedisWritePace({
  redis,
  prefix,
  gapMs,
}: {
  redis: Redis;
  prefix: string;
  gapMs: number;
}): WritePace {
  const keyOf = (key: string) => `${prefix}{ghpace:${key}}`;
  return {
    async acquire(key, { urgent }) {
      if (gapMs <= 0) return Date.now();
      for (;;) {
        const [wait, now] = (await redis.eval(ACQUIRE, 1, keyOf(key), gapMs, urgent ? '1' : '0')) as number[];
        if (!wait || wait <= 0) return now ?? 0;
        await new Promise((resolve) => setTimeout(resolve, Math.min(wait, MAX_POLL_MS)));
      }
    },
    async holdOff(key, ms) {
      if (ms > 0) await redis.eval(HOLD_OFF, 1, keyOf(key), Math.ceil(ms));
    },
  };
}
