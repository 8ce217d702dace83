import type { Redis } from 'ioredis';
import { legacyAudience } from '../domain/legacy-audience.js';
import { addressKey, MAX_AUDIENCE, ReplyAddress } from '../domain/reply-address.js';

/** Appends `{key, address}` unless an entry with that key is there, or the list is full. */
const JOIN = `
local items = redis.call('LRANGE', KEYS[1], 0, -1)
if #items >= tonumber(ARGV[3]) then return 0 end
for _, item in ipairs(items) do
  if cjson.decode(item).key == ARGV[1] then return 0 end
end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1`;

/** Writes the whole list only when there is none yet (the first read of a task stored before audiences). */
const ADOPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`;

const entry = (address: ReplyAddress) => JSON.stringify({ key: addressKey(address), address });
/** The list's first entry, there even when nobody hears about the task (the API): it marks the list as this version's. */
const HEAD = JSON.stringify({ key: '' });

/**
 * A task's audience as a Redis list beside its record (`<prefix>audience:<id>`, same expiry): a list of
 * its own, so that a join never races the record's read-modify-write, and a worker of the previous
 * version that rewrites the record cannot drop it. Tasks that version stored have no list: their
 * audience is read from the record's old fields (and Linear's old list of attached places) and
 * written as a list on first use.
 */
export function createRedisTaskAudience(deps: { redis: Redis; prefix: string; ttlSeconds: number }) {
  const { redis, prefix, ttlSeconds } = deps;
  const key = (id: string) => `${prefix}audience:${id}`;

  async function read(id: string): Promise<ReplyAddress[] | null> {
    const items = await redis.lrange(key(id), 0, -1);
    if (items.length === 0) return null;
    return items.slice(1).flatMap((item) => {
      const parsed = ReplyAddress.safeParse((JSON.parse(item) as { address?: unknown }).address);
      return parsed.success ? [parsed.data] : [];
    });
  }

  async function adoptLegacy(id: string, stored?: unknown): Promise<ReplyAddress[]> {
    const record = stored ?? JSON.parse((await redis.get(`${prefix}task:${id}`)) ?? 'null');
    if (!record) return [];
    const attached = await redis.get(`${prefix}kv:linear:targets:${id}`);
    const audience = legacyAudience(record, attached ? JSON.parse(attached) : []);
    await redis.eval(ADOPT, 1, key(id), String(ttlSeconds), HEAD, ...audience.map(entry));
    return (await read(id)) ?? audience;
  }

  return {
    /** Written with the record, in its MULTI. */
    entries: (audience: ReplyAddress[]) => [HEAD, ...audience.slice(0, MAX_AUDIENCE).map(entry)],
    key,
    async get(id: string): Promise<ReplyAddress[]> {
      return (await read(id)) ?? adoptLegacy(id);
    },
    /**
     * Called with a record as stored, before it is rewritten: one the previous version wrote still
     * holds its places in its old fields, which the rewrite drops.
     */
    async keepLegacy(id: string, stored: unknown): Promise<void> {
      const request = (stored as { request?: { origin?: { ref?: unknown }; alsoNotify?: unknown } }).request;
      if (request?.origin?.ref === undefined && request?.alsoNotify === undefined) return;
      if ((await redis.exists(key(id))) === 0) await adoptLegacy(id, stored);
    },
    async join(id: string, address: ReplyAddress): Promise<boolean> {
      if ((await redis.exists(key(id))) === 0) await adoptLegacy(id);
      const args = [addressKey(address), entry(address), String(MAX_AUDIENCE + 1), String(ttlSeconds)];
      return (await redis.eval(JOIN, 1, key(id), ...args)) === 1;
    },
  };
}
