import type { Redis } from 'ioredis';

/** Remembers the list's length as the checkpoint. */
const CHECKPOINT = `
redis.call('SET', KEYS[2], redis.call('LLEN', KEYS[1]), 'EX', ARGV[1])
return 1`;

/** Cuts the list back to the checkpoint (ARGV[1] = 'question') or to nothing, and returns what is left. */
const REWIND = `
local keep = 0
if ARGV[1] == 'question' then keep = tonumber(redis.call('GET', KEYS[2]) or '0') end
if keep == 0 then
  redis.call('DEL', KEYS[1])
  return {}
end
redis.call('LTRIM', KEYS[1], 0, keep - 1)
return redis.call('LRANGE', KEYS[1], 0, -1)`;

/** Writes a transcript the previous version kept as one blob, unless a list was written meanwhile. */
const ADOPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], #ARGV - 1, 'EX', ARGV[1])
return 1`;

/**
 * A task's transcript as a Redis list, one JSON message per element (`<prefix>transcript:{<id>}`), and
 * its question checkpoint as a length (`<prefix>transcript-checkpoint:{<id>}`), both expiring with the
 * task. A turn appends only what it added, so a 300-step task writes each message once instead of the
 * whole transcript after every turn. The braces are a hash tag: the scripts touch both keys, which must
 * live in one slot on Redis Cluster.
 *
 * The previous version kept one JSON blob per transcript (`<prefix>transcript:<id>`) and a copy of it at
 * the question (`<prefix>transcript:<id>.question`); a task it left waiting on a question is resumed
 * from that copy.
 */
export function createRedisTranscript(deps: { redis: Redis; prefix: string; ttlSeconds: number }) {
  const { redis, prefix, ttlSeconds } = deps;
  const listKey = (id: string) => `${prefix}transcript:{${id}}`;
  const checkpointKey = (id: string) => `${prefix}transcript-checkpoint:{${id}}`;
  const parse = (items: string[]) => items.map((item) => JSON.parse(item) as unknown);

  async function adoptLegacy(id: string): Promise<unknown[]> {
    const raw = await redis.get(`${prefix}transcript:${id}.question`);
    if (!raw) return [];
    const messages = JSON.parse(raw) as unknown[];
    if (messages.length === 0) return [];
    const items = messages.map((m) => JSON.stringify(m));
    await redis.eval(ADOPT, 2, listKey(id), checkpointKey(id), String(ttlSeconds), ...items);
    return parse(await redis.lrange(listKey(id), 0, -1));
  }

  return {
    listKey,
    checkpointKey,
    async get(id: string): Promise<unknown[]> {
      return parse(await redis.lrange(listKey(id), 0, -1));
    },
    async append(id: string, messages: unknown[]): Promise<void> {
      if (messages.length === 0) return;
      const items = messages.map((m) => JSON.stringify(m));
      await redis
        .multi()
        .rpush(listKey(id), ...items)
        .expire(listKey(id), ttlSeconds)
        .exec();
    },
    async checkpoint(id: string): Promise<void> {
      await redis.eval(CHECKPOINT, 2, listKey(id), checkpointKey(id), String(ttlSeconds));
    },
    async rewind(id: string, to: 'start' | 'question'): Promise<unknown[]> {
      const left = (await redis.eval(REWIND, 2, listKey(id), checkpointKey(id), to)) as string[];
      if (left.length > 0 || to === 'start') return parse(left);
      return (await redis.exists(checkpointKey(id))) ? [] : adoptLegacy(id);
    },
  };
}
