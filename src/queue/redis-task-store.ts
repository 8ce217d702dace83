import type { Redis } from 'ioredis';
import { PatchbayError } from '../domain/errors.js';
import type { TaskIndex, TaskStore } from '../domain/ports.js';
import { TaskRecord } from '../domain/task.js';
import { duplicateRedis } from './redis-connection.js';
import { createRedisTaskAudience } from './redis-task-audience.js';
import { createRedisTaskIndex } from './redis-task-index.js';
import { createRedisTranscript } from './redis-transcript.js';

const MAX_TRIES = 20;

/**
 * Task records as JSON under `<prefix>task:<id>`, transcripts as lists (redis-transcript.ts), both
 * expiring after the retention period. Updates are optimistic (WATCH/MULTI) because the API (cancel)
 * and a worker may write one record at the same time.
 */
export function createRedisTaskStore({
  redis,
  prefix,
  retentionDays,
}: {
  redis: Redis;
  prefix: string;
  retentionDays: number;
}): TaskStore & { index: TaskIndex; close(): Promise<void> } {
  const ttl = retentionDays * 86_400;
  const key = (id: string) => `${prefix}task:${id}`;
  const audience = createRedisTaskAudience({ redis, prefix, ttlSeconds: ttl });
  const transcript = createRedisTranscript({ redis, prefix, ttlSeconds: ttl });
  const index = createRedisTaskIndex({ redis, prefix, ttlSeconds: ttl });

  async function get(id: string): Promise<TaskRecord | null> {
    const raw = await redis.get(key(id));
    return raw ? TaskRecord.parse(JSON.parse(raw)) : null;
  }

  // WATCH is per connection: updates go one at a time through a connection of their own.
  let txConn: Redis | undefined;
  let pending: Promise<unknown> = Promise.resolve();

  function update(id: string, change: (current: TaskRecord) => Partial<TaskRecord>): Promise<TaskRecord> {
    const run = pending.then(() => updateNow(id, change));
    pending = run.catch(() => undefined);
    return run;
  }

  async function updateNow(
    id: string,
    change: (current: TaskRecord) => Partial<TaskRecord>,
  ): Promise<TaskRecord> {
    txConn ??= duplicateRedis(redis, { enableOfflineQueue: true });
    const conn = txConn;
    for (let i = 0; i < MAX_TRIES; i++) {
      await conn.watch(key(id));
      const raw = await conn.get(key(id));
      if (!raw) {
        await conn.unwatch();
        throw new PatchbayError('task_not_found', `no task ${id}`);
      }
      const stored: unknown = JSON.parse(raw);
      await audience.keepLegacy(id, stored);
      const current = TaskRecord.parse(stored);
      const next: TaskRecord = { ...current, ...change(current), updatedAt: new Date().toISOString() };
      const tx = conn.multi().set(key(id), JSON.stringify(next), 'EX', ttl);
      index.onUpdate(tx, next);
      const done = await tx.exec();
      if (done) return next;
    }
    throw new PatchbayError('internal', `task ${id} changed too often to update`);
  }

  return {
    index: { list: index.list, ofConversation: index.ofConversation, waiting: index.waiting },
    async close() {
      txConn?.disconnect();
    },
    async create(record, places) {
      const tx = redis.multi().set(key(record.id), JSON.stringify(TaskRecord.parse(record)), 'EX', ttl);
      tx.rpush(audience.key(record.id), ...audience.entries(places)).expire(audience.key(record.id), ttl);
      index.onCreate(tx, record);
      await tx.exec();
    },
    get,
    audience: audience.get,
    join: audience.join,
    update,
    getTranscript: transcript.get,
    appendTranscript: transcript.append,
    checkpointTranscript: transcript.checkpoint,
    rewindTranscript: transcript.rewind,
    appendTranscriptAt: (id, messages, point) => transcript.appendAt(id, messages, point),
    replaceTranscript: (id, messages, point) => transcript.appendAt(id, messages, point, true),
    rewindToResumePoint: transcript.rewindToPoint,
  };
}
