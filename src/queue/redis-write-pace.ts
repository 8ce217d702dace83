import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { URGENT_MARGIN_MS, type WritePace, type WriteSlot } from '../domain/write-pace.js';
import { redisScript, runScript } from './redis-script.js';

/**
 * One hash per installation or token, on Redis's own clock (processes on machines with skewed
 * clocks agree): `next` is the earliest the next write may go (the gap after the last answer),
 * `started` when the last write went, `hold` a hold-off GitHub asked for, `holder` the write in
 * flight until `lease` (a process that dies mid-write frees the pace then), `urgent` an urgent
 * write's claim on the next slot. Beside it, the starts of the last hour (a sorted set) when there is
 * an hourly budget. A write waits for the answer of the one before and the gap after it; an urgent
 * write (an acknowledgement a person waits for) goes first, and goes anyway once the gap (and a
 * margin) has passed since the last write *started*, even while that write is still in flight, so
 * that it never waits longer than one gap however slow GitHub answers the write before it. Takes
 * the slot and returns {0, now}, or returns {ms to wait before asking again, now}: nothing is
 * reserved while waiting, so an urgent write that comes later still goes first.
 * KEYS: 1 the hash, 2 the hour's starts. ARGV: gap ms, '1' for urgent, holder id, lease ms, urgent
 * margin ms, writes per hour (0: no hourly budget).
 */
const ACQUIRE = redisScript(`
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gap, leaseMs, margin, perHour = tonumber(ARGV[1]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local f = redis.call('hmget', KEYS[1], 'next', 'holder', 'lease', 'urgent', 'started', 'hold')
local nextAt, lease, claim = tonumber(f[1] or '0'), tonumber(f[3] or '0'), tonumber(f[4] or '0')
local started, hold = tonumber(f[5] or '0'), tonumber(f[6] or '0')
local busy = f[2] and lease > now
local urgent = ARGV[2] == '1'
local keep = math.max(nextAt - now, hold - now, 0) + leaseMs + gap + 60000
local wait
if urgent then
  local afterAnswer = busy and math.huge or nextAt - now
  local afterStart = started > 0 and started + gap + margin - now or math.huge
  wait = math.max(hold - now, math.min(afterAnswer, afterStart))
else
  wait = math.max(nextAt, hold) - now
  if busy then wait = math.max(wait, math.min(gap, lease - now)) end
  if wait <= 0 and claim > now then wait = 20 end
end
if wait == math.huge then wait = math.max(math.min(gap, lease - now), 20) end
-- Whatever the state (a holder's lease run out, an urgent write gone while it was in flight), no two
-- starts closer than the gap.
if started > 0 then wait = math.max(wait, started + gap - now) end
if perHour > 0 then
  redis.call('zremrangebyscore', KEYS[2], '-inf', now - 3600000)
  if redis.call('zcard', KEYS[2]) >= perHour then
    local oldest = tonumber(redis.call('zrange', KEYS[2], 0, 0, 'WITHSCORES')[2])
    wait = math.max(wait, oldest + 3600000 - now + 1)
  end
end
if wait <= 0 then
  if not busy then redis.call('hset', KEYS[1], 'holder', ARGV[3], 'lease', now + leaseMs) end
  redis.call('hset', KEYS[1], 'started', now)
  if urgent then redis.call('hdel', KEYS[1], 'urgent') end
  redis.call('pexpire', KEYS[1], keep)
  if perHour > 0 then
    redis.call('zadd', KEYS[2], now, ARGV[3])
    redis.call('pexpire', KEYS[2], 3660000)
  end
  return {0, now}
end
if urgent then
  redis.call('hset', KEYS[1], 'urgent', now + leaseMs + gap)
  redis.call('pexpire', KEYS[1], keep)
end
return {math.min(math.ceil(wait), 3601000), now}`);

/** The holder's write was answered: the next may go the gap from now. KEYS[1]; ARGV: holder id, gap. */
const RELEASE = redisScript(`
if redis.call('hget', KEYS[1], 'holder') ~= ARGV[1] then return 0 end
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nextAt = tonumber(redis.call('hget', KEYS[1], 'next') or '0')
redis.call('hset', KEYS[1], 'next', math.max(nextAt, now + tonumber(ARGV[2])))
redis.call('hdel', KEYS[1], 'holder', 'lease')
return 1`);

/** No write before `ms` from now (GitHub's Retry-After). KEYS[1] the hash; ARGV[1] ms. */
const HOLD_OFF = redisScript(`
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ = now + tonumber(ARGV[1])
local hold = tonumber(redis.call('hget', KEYS[1], 'hold') or '0')
if until_ > hold then redis.call('hset', KEYS[1], 'hold', until_) end
local ttl = redis.call('pttl', KEYS[1])
redis.call('pexpire', KEYS[1], math.max(until_ - now + 120000, ttl))
return 0`);

/** A waiter asks again at most this often, so a hold-off another process sets is seen soon. */
const MAX_POLL_MS = 2_000;

/**
 * The write pace shared through Redis: `<prefix>{ghpace:<key>}`, one key per installation or token
 * hash (its own hash tag, so Redis Cluster is fine; the hour's starts under `…:hour` beside it),
 * expiring a minute after its last use. `gapMs` is the least time from one write's answer to the
 * next write; 0 lets every write through at once (the hourly cap too). `perHour` caps the writes
 * started in any hour (0: no cap). `leaseMs` bounds how long a write in flight holds the pace (its
 * request's timeout, and a margin).
 */
export function createRedisWritePace({
  redis,
  prefix,
  gapMs,
  perHour = 0,
  leaseMs = 35_000,
}: {
  redis: Redis;
  prefix: string;
  gapMs: number;
  perHour?: number;
  leaseMs?: number;
}): WritePace {
  const keyOf = (key: string) => `${prefix}{ghpace:${key}}`;
  return {
    async acquire(key, { urgent }): Promise<WriteSlot> {
      if (gapMs <= 0) return { at: Date.now(), release: async () => undefined };
      const holder = randomUUID();
      const keys = [keyOf(key), `${keyOf(key)}:hour`];
      for (;;) {
        const args = [gapMs, urgent ? '1' : '0', holder, leaseMs, URGENT_MARGIN_MS, perHour];
        const [wait, now] = (await runScript(redis, ACQUIRE, keys, args)) as number[];
        if (!wait || wait <= 0) {
          const release = async () => void (await runScript(redis, RELEASE, [keyOf(key)], [holder, gapMs]));
          return { at: now ?? 0, release };
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(wait, MAX_POLL_MS)));
      }
    },
    async holdOff(key, ms) {
      if (ms > 0) await runScript(redis, HOLD_OFF, [keyOf(key)], [Math.ceil(ms)]);
    },
  };
}
