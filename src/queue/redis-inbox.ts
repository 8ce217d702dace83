import type { Redis } from 'ioredis';
import type { AcceptedRecord, Inbox, InboxEntry, InboxReader, ReadEntry } from '../domain/inbox.js';
import { shortHash } from '../lib/ids.js';
import { duplicateRedis } from './redis-connection.js';
import { redisScript, runScript } from './redis-script.js';

/**
 * The one round trip before an answer. KEYS: 1 the delivery's claim, 2 the inbox stream, 3 the
 * accepted record of the task. ARGV: 1 the task id, 2 '1' when the entry has a delivery id, 3 the
 * claim's expiry (s), 4 the stream's cap, 5 the entry's kind, 6 its payload (JSON), 7 the record's
 * expiry (s). A delivery claimed before answers `{0, owner}` and appends nothing.
 */
const ACCEPT = redisScript(`
if ARGV[2] == '1' then
  local owner = redis.call('GET', KEYS[1])
  if owner then return {0, owner} end
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 't', ARGV[1], 'k', ARGV[5], 'p', ARGV[6])
redis.call('SET', KEYS[3], cjson.encode({kind = ARGV[5], payload = ARGV[6], state = 'accepted'}), 'EX', ARGV[7])
return {1, ARGV[1]}
`);

/**
 * An entry handled: acknowledged and deleted, and its accepted record marked `made` (a cancel waits
 * for that, so that it finds the task's job). KEYS: 1 the stream, 2 the accepted record. ARGV: 1 the
 * group, 2 the entry's id.
 */
const ACK = redisScript(`
local raw = redis.call('GET', KEYS[2])
if raw then
  local record = cjson.decode(raw)
  if record.state == 'accepted' then
    record.state = 'made'
    redis.call('SET', KEYS[2], cjson.encode(record), 'KEEPTTL')
  end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
`);

const GROUP = 'patchbay-inbox';

/**
 * Patchbay's inbox on Redis: a stream of accepted requests read by a consumer group, each delivery's
 * claim, and each accepted task's small record (what `GET /api/tasks/:id` answers before the task
 * exists). All of them share the hash tag `{inbox}` (or the prefix's own), so that the accepting
 * script touches one slot of a Redis Cluster.
 */
export function createRedisInbox({
  redis,
  acceptRedis = redis,
  prefix,
  maxLength = 100_000,
  claimTtlSeconds = 7 * 86_400,
  recordTtlSeconds = 86_400,
}: {
  redis: Redis;
  /** Where `accept` goes (a connection of its own, so that an answer waits behind no other command). */
  acceptRedis?: Redis;
  prefix: string;
  maxLength?: number;
  claimTtlSeconds?: number;
  recordTtlSeconds?: number;
}): Inbox & { reader(consumer: string): InboxReader } {
  const tag = prefix.includes('{') ? prefix : `${prefix}{inbox}:`;
  const stream = `${tag}inbox`;
  const claimKey = (deliveryId: string) => `${tag}inbox-delivery:${shortHash(deliveryId, 32)}`;
  const recordKey = (taskId: string) => `${tag}inbox-task:${taskId}`;

  async function accept(entry: InboxEntry) {
    const keys = [claimKey(entry.deliveryId ?? entry.taskId), stream, recordKey(entry.taskId)];
    const args = [
      entry.taskId,
      entry.deliveryId ? '1' : '0',
      String(claimTtlSeconds),
      String(maxLength),
      entry.kind,
      JSON.stringify(entry.payload),
      String(recordTtlSeconds),
    ];
    const [fresh, owner] = (await runScript(acceptRedis, ACCEPT, keys, args)) as [number, string];
    return { taskId: owner, duplicate: fresh !== 1 };
  }

  async function accepted(taskId: string): Promise<AcceptedRecord | null> {
    const raw = await redis.get(recordKey(taskId));
    if (!raw) return null;
    const parsed = JSON.parse(raw) as { kind: string; payload: string; state: string; error?: unknown };
    return {
      kind: parsed.kind,
      payload: JSON.parse(parsed.payload) as unknown,
      refused: parsed.state === 'refused' ? (parsed.error as AcceptedRecord['refused']) : undefined,
      made: parsed.state === 'made',
    };
  }

  async function refuse(taskId: string, error: { code: string; message: string }) {
    const current = await redis.get(recordKey(taskId));
    if (!current) return;
    const record = { ...(JSON.parse(current) as object), state: 'refused', error };
    await redis.set(recordKey(taskId), JSON.stringify(record), 'EX', recordTtlSeconds);
  }

  return {
    accept,
    accepted,
    refuse,
    reader: (consumer) => createInboxReader({ redis, stream, consumer, recordKey }),
  };
}

type StreamEntries = Array<[string, string[]]>;

function toEntries(raw: StreamEntries) {
  return raw.flatMap(([id, fields]) => {
    if (!fields) return []; // an entry trimmed or deleted while it was pending
    const field = (name: string) => fields[fields.indexOf(name) + 1] ?? '';
    const payload: unknown = JSON.parse(field('p') || 'null');
    return [{ id, taskId: field('t'), kind: field('k'), payload, acceptedAt: Number(id.split('-')[0]) }];
  });
}

/**
 * One consumer of the inbox's group. Reads block on a connection of their own; entries read and not
 * acknowledged stay pending, and any consumer takes over those idle longer than `minIdleMs`
 * (XAUTOCLAIM): a server that died between reading and acknowledging loses nothing.
 */
function createInboxReader({
  redis,
  stream,
  consumer,
  recordKey,
}: {
  redis: Redis;
  stream: string;
  consumer: string;
  recordKey(taskId: string): string;
}) {
  let blocking: Redis | undefined;
  return {
    async ensureGroup() {
      try {
        await redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM');
      } catch (err) {
        if (!/BUSYGROUP/.test((err as Error).message)) throw err;
      }
    },
    async read(count: number, blockMs: number) {
      blocking ??= duplicateRedis(redis, { enableOfflineQueue: true, maxRetriesPerRequest: null });
      const raw = (await blocking.xreadgroup(
        'GROUP',
        GROUP,
        consumer,
        'COUNT',
        count,
        'BLOCK',
        blockMs,
        'STREAMS',
        stream,
        '>',
      )) as Array<[string, StreamEntries]> | null;
      return toEntries(raw?.[0]?.[1] ?? []);
    },
    async reclaim(minIdleMs: number, count: number) {
      const raw = (await redis.xautoclaim(stream, GROUP, consumer, minIdleMs, '0-0', 'COUNT', count)) as [
        string,
        StreamEntries,
      ];
      return toEntries(raw[1] ?? []);
    },
    async ack(entry: Pick<ReadEntry, 'id' | 'taskId'>) {
      await runScript(redis, ACK, [stream, recordKey(entry.taskId)], [GROUP, entry.id]);
    },
    close() {
      blocking?.disconnect();
    },
  };
}
