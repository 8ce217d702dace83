import type { Redis } from 'ioredis';
import type { ResumeMark, ResumePoint } from '../domain/ports.js';

/** Remembers the list's length as the checkpoint. */
const CHECKPOINT = `
redis.call('SET', KEYS[2], redis.call('LLEN', KEYS[1]), 'EX', ARGV[1])
return 1`;

/** Cuts the list back to the checkpoint (ARGV[1] = 'question') or to nothing, and returns what is left. */
const REWIND = `
redis.call('DEL', KEYS[3])
local keep = 0
if ARGV[1] == 'question' then keep = tonumber(redis.call('GET', KEYS[2]) or '0') end
if keep == 0 then
  redis.call('DEL', KEYS[1])
  return {}
end
redis.call('LTRIM', KEYS[1], 0, keep - 1)
return redis.call('LRANGE', KEYS[1], 0, -1)`;

/**
 * Appends ARGV[4..] (after deleting the list when ARGV[2] is 'replace') and records the list's new
 * length in the resume point ARGV[1] (JSON): one step, so that a point never names messages that are
 * not there. An empty ARGV[1] drops the resume point and the question checkpoint instead.
 */
const APPEND_AT = `
if ARGV[2] == 'replace' then redis.call('DEL', KEYS[1]) end
if ARGV[1] == '' then
  redis.call('DEL', KEYS[2], KEYS[3])
  for i = 4, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
  if #ARGV >= 4 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
  return 0
end
local n = redis.call('LLEN', KEYS[1])
for i = 4, #ARGV do n = redis.call('RPUSH', KEYS[1], ARGV[i]) end
local point = cjson.decode(ARGV[1])
point['length'] = n
redis.call('SET', KEYS[2], cjson.encode(point), 'EX', ARGV[3])
if n > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return n`;

/**
 * Cuts the list back to its resume point when the point belongs to run ARGV[1], and returns the point
 * followed by the messages it covers; nothing when there is no such point.
 */
const REWIND_TO_POINT = `
local raw = redis.call('GET', KEYS[2])
if not raw then return {} end
local point = cjson.decode(raw)
if tonumber(point['run']) ~= tonumber(ARGV[1]) then return {} end
local keep = tonumber(point['length'])
if keep > redis.call('LLEN', KEYS[1]) then return {} end
redis.call('LTRIM', KEYS[1], 0, keep - 1)
local out = redis.call('LRANGE', KEYS[1], 0, -1)
table.insert(out, 1, raw)
return out`;

/** Writes a transcript the previous version kept as one blob, unless a list was written meanwhile. */
const ADOPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], #ARGV - 1, 'EX', ARGV[1])
return 1`;

/**
 * A task's transcript as a Redis list, one JSON message per element (`<prefix>transcript:{<id>}`), and
 * its question checkpoint as a length (`<prefix>transcript-checkpoint:{<id>}`) and its resume point
 * (`<prefix>transcript-resume:{<id>}`: JSON `{ run, length, work }`, where a retried attempt of the
 * run continues), all expiring with the task. A turn appends only what it added, so a 300-step task writes each message once instead of the
 * whole transcript after every turn. The braces are a hash tag: the scripts touch both keys, which must
 * live in one slot on Redis Cluster.
 *
 * The previous version kept one JSON blob per transcript (`<prefix>transcript:<id>`) and a copy of it at
 * the question (`<prefix>transcript:<id>.question`); a task it left waiting on a question is resumed
 * from that copy.
 */
export function createRedisTranscript(deps: { redis: Redis; prefix: string; ttlSeconds: number }) {
  const { redis, prefix, ttlSeconds } = deps;
  const ttl = String(ttlSeconds);
  const listKey = (id: string) => `${prefix}transcript:{${id}}`;
  const checkpointKey = (id: string) => `${prefix}transcript-checkpoint:{${id}}`;
  const resumeKey = (id: string) => `${prefix}transcript-resume:{${id}}`;
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
    async appendAt(
      id: string,
      messages: unknown[],
      point: ResumeMark | null,
      replace = false,
    ): Promise<void> {
      const items = messages.map((m) => JSON.stringify(m));
      const mode = replace ? 'replace' : 'append';
      const mark = point ? JSON.stringify(point) : '';
      const keys = [listKey(id), resumeKey(id), checkpointKey(id)];
      await redis.eval(APPEND_AT, 3, ...keys, mark, mode, ttl, ...items);
    },
    async rewindToPoint(
      id: string,
      run: number,
    ): Promise<{ messages: unknown[]; point: ResumePoint } | null> {
      const [raw, ...items] = (await redis.eval(
        REWIND_TO_POINT,
        2,
        listKey(id),
        resumeKey(id),
        run,
      )) as string[];
      if (!raw) return null;
      return { messages: parse(items), point: JSON.parse(raw) as ResumePoint };
    },
    async rewind(id: string, to: 'start' | 'question'): Promise<unknown[]> {
      const left = (await redis.eval(
        REWIND,
        3,
        listKey(id),
        checkpointKey(id),
        resumeKey(id),
        to,
      )) as string[];
      if (left.length > 0 || to === 'start') return parse(left);
      return (await redis.exists(checkpointKey(id))) ? [] : adoptLegacy(id);
    },
  };
}
