import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { WritePace, WriteSlot } from '../domain/write-pace.js';

/**
 * One hash per installation or token, on Redis's own clock (processes on machines with skewed
 * clocks agree): `next` is the earliest the next write may go, `holder` the write in flight until
 * `lease` (a process that dies mid-write frees the pace then), `urgent` an urgent write's claim on
 * the next slot. A write's release sets `next` to the gap after its answer, so two writes reach
 * GitHub at least the gap apart however late either was sent. Takes the slot and returns {0, now},
 * or returns {ms to wait before asking again, now}: nothing is reserved while waiting, so an urgent
 * write that comes later still goes first.
 * KEYS[1] the hash; ARGV: gap ms, '1' for urgent, holder id, lease ms.
 */
const ACQUIRE = `
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gap, leaseMs = tonumber(ARGV[1]), tonumber(ARGV[4])
local f = redis.call('hmget', KEYS[1], 'next', 'holder', 'lease', 'urgent')
local nextAt, lease, claim = tonumber(f[1] or '0'), tonumber(f[3] or '0'), tonumber(f[4] or '0')
local busy = f[2] and lease > now
local urgent = ARGV[2] == '1'
if now >= nextAt and not busy and (urgent or claim <= now) then
  redis.call('hset', KEYS[1], 'holder', ARGV[3], 'lease', now + leaseMs)
  if urgent then redis.call('hdel', KEYS[1], 'urgent') end
  redis.call('pexpire', KEYS[1], math.max(nextAt - now, 0) + leaseMs + gap + 60000)
  return {0, now}
end
if urgent then
  redis.call('hset', KEYS[1], 'urgent', now + leaseMs + gap)
  redis.call('pexpire', KEYS[1], math.max(nextAt - now, 0) + leaseMs + gap + 60000)
end
local wait = nextAt - now
if busy then wait = math.max(wait, math.min(gap, lease - now)) end
if wait <= 0 then wait = 20 end
return {wait, now}`;

/** The holder's write was answered: the next may go the gap from now. KEYS[1]; ARGV: holder id, gap. */
const RELEASE = `
if redis.call('hget', KEYS[1], 'holder') ~= ARGV[1] then return 0 end
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nextAt = tonumber(redis.call('hget', KEYS[1], 'next') or '0')
redis.call('hset', KEYS[1], 'next', math.max(nextAt, now + tonumber(ARGV[2])))
redis.call('hdel', KEYS[1], 'holder', 'lease')
return 1`;

/** Pushes `next` at least `ms` past now (GitHub's Retry-After). KEYS[1] the hash; ARGV[1] ms. */
const HOLD_OFF = `
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ = now + tonumber(ARGV[1])
local nextAt = tonumber(redis.call('hget', KEYS[1], 'next') or '0')
if until_ > nextAt then redis.call('hset', KEYS[1], 'next', until_) end
redis.call('pexpire', KEYS[1], math.max(until_, nextAt) - now + 120000)
return 0`;

/** A waiter asks again at most this often, so a hold-off another process sets is seen soon. */
const MAX_POLL_MS = 2_000;

/**
 * The write pace shared through Redis: `<prefix>{ghpace:<key>}`, one key per installation or token
 * hash (its own hash tag, so Redis Cluster is fine), expiring a minute after its last use. `gapMs`
 * is the least time from one write's answer to the next write; 0 lets every write through at once.
 * `leaseMs` bounds how long a write in flight holds the pace (its request's timeout, and a margin).
 */
export function createRedisWritePace({
  redis,
  prefix,
  gapMs,
  leaseMs = 35_000,
}: {
  redis: Redis;
  prefix: string;
  gapMs: number;
  leaseMs?: number;
}): WritePace {
  const keyOf = (key: string) => `${prefix}{ghpace:${key}}`;
  return {
    async acquire(key, { urgent }): Promise<WriteSlot> {
      if (gapMs <= 0) return { at: Date.now(), release: async () => undefined };
      const holder = randomUUID();
      for (;;) {
        const args = [gapMs, urgent ? '1' : '0', holder, leaseMs];
        const [wait, now] = (await redis.eval(ACQUIRE, 1, keyOf(key), ...args)) as number[];
        if (!wait || wait <= 0) {
          const release = async () => void (await redis.eval(RELEASE, 1, keyOf(key), holder, gapMs));
          return { at: now ?? 0, release };
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(wait, MAX_POLL_MS)));
      }
    },
    async holdOff(key, ms) {
      if (ms > 0) await redis.eval(HOLD_OFF, 1, keyOf(key), Math.ceil(ms));
    },
  };
}
