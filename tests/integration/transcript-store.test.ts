import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskStore } from '../../src/domain/ports.js';
import { createRedisTaskStore } from '../../src/queue/redis-task-store.js';
import { createMemoryTaskStore } from '../../src/tasks/memory-stores.js';
import { REDIS_URL } from '../fakes/redis.js';

let redis: Redis;
let prefix: string;
let closeStore: () => Promise<void> = async () => undefined;

beforeEach(() => {
  redis = new Redis(REDIS_URL);
  prefix = `pbtest:${randomBytes(4).toString('hex')}:`;
});
afterEach(async () => {
  await closeStore();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const msg = (n: number) => ({ role: 'user', content: `message ${n}` });
const msgs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => msg(from + i));

const stores: Array<[string, () => TaskStore]> = [
  [
    'Redis',
    () => {
      const store = createRedisTaskStore({ redis, prefix, retentionDays: 1 });
      closeStore = () => store.close();
      return store;
    },
  ],
  ['memory', () => createMemoryTaskStore()],
];

describe.each(stores)('a transcript in the %s task store', (_name, makeStore) => {
  it('grows by appends and reads back whole, in order', async () => {
    const store = makeStore();

    await store.appendTranscript('t1', msgs(1, 2));
    await store.appendTranscript('t1', []);
    await store.appendTranscript('t1', msgs(3, 5));

    expect(await store.getTranscript('t1')).toEqual(msgs(1, 5));
  });

  it('resumes from the question checkpoint, dropping what a crashed resume appended after it', async () => {
    const store = makeStore();
    await store.appendTranscript('t1', msgs(1, 4));
    await store.checkpointTranscript('t1');
    await store.appendTranscript('t1', msgs(5, 7));

    const resumed = await store.rewindTranscript('t1', 'question');
    await store.appendTranscript('t1', [msg(8)]);

    expect(resumed).toEqual(msgs(1, 4));
    expect(await store.getTranscript('t1')).toEqual([...msgs(1, 4), msg(8)]);
  });

  it('starts a run without a question from nothing, whatever an earlier attempt appended', async () => {
    const store = makeStore();
    await store.appendTranscript('t1', msgs(1, 3));

    const fresh = await store.rewindTranscript('t1', 'start');
    const noCheckpoint = await store.rewindTranscript('t2', 'question');

    expect(fresh).toEqual([]);
    expect(await store.getTranscript('t1')).toEqual([]);
    expect(noCheckpoint).toEqual([]);
  });

  it('resumes a retried attempt at its last stored reply, dropping what came after it', async () => {
    const store = makeStore();
    const work = { base: 'a'.repeat(40), sha: 'b'.repeat(40) };
    await store.appendTranscript('t1', msgs(1, 2));
    await store.appendTranscriptAt('t1', [msg(3)], { run: 1, work, steps: 0 });
    await store.appendTranscript('t1', [msg(4)]);
    await store.appendTranscriptAt('t1', [msg(5)], { run: 1, work, steps: 1 });
    await store.appendTranscript('t1', msgs(6, 7));

    const resumed = await store.rewindToResumePoint('t1', 1);
    const otherRun = await store.rewindToResumePoint('t1', 2);

    expect(resumed).toEqual({ messages: msgs(1, 5), point: { run: 1, work, steps: 1, length: 5 } });
    expect(otherRun).toBeNull();
    expect(await store.getTranscript('t1')).toEqual(msgs(1, 5));
  });

  it('replaces the transcript when compacted, and forgets the point of a new run or a fresh start', async () => {
    const store = makeStore();
    const work = { base: 'a'.repeat(40), sha: null };
    await store.appendTranscriptAt('t1', msgs(1, 6), { run: 1, work, steps: 3 });

    await store.replaceTranscript('t1', [msg(1), msg(2), msg(9)], { run: 1, work, steps: 3 });
    const compacted = await store.rewindToResumePoint('t1', 1);
    await store.rewindTranscript('t1', 'start');
    const afterStart = await store.rewindToResumePoint('t1', 1);
    await store.appendTranscriptAt('t2', msgs(1, 3), { run: 1, work, steps: 0 });
    await store.checkpointTranscript('t2');
    await store.replaceTranscript('t2', [msg(1)], null);

    expect(compacted?.messages).toEqual([msg(1), msg(2), msg(9)]);
    expect(compacted?.point.length).toBe(3);
    expect(afterStart).toBeNull();
    expect(await store.rewindToResumePoint('t2', 1)).toBeNull();
    expect(await store.rewindTranscript('t2', 'question')).toEqual([]);
  });
});

describe('a transcript in Redis', () => {
  it('is a list expiring with the task, and a turn sends Redis only its own messages', async () => {
    const conn = new Redis(REDIS_URL);
    const store = createRedisTaskStore({ redis: conn, prefix, retentionDays: 2 });
    closeStore = async () => {
      await store.close();
      conn.disconnect();
    };
    const key = `${prefix}transcript:{t1}`;
    await store.appendTranscript('t1', msgs(1, 100));
    await store.checkpointTranscript('t1');
    const before = conn.stream.bytesWritten;

    await store.appendTranscript('t1', [msg(101)]);

    const sent = conn.stream.bytesWritten - before;
    expect(sent).toBeGreaterThan(JSON.stringify(msg(101)).length);
    expect(sent).toBeLessThan(JSON.stringify(msg(101)).length + 200);
    expect(await redis.type(key)).toBe('list');
    expect(await redis.llen(key)).toBe(101);
    expect(await redis.get(`${prefix}transcript-checkpoint:{t1}`)).toBe('100');
    expect(await redis.ttl(key)).toBeGreaterThan(86_400);
  });

  it('resumes a task the previous version left waiting on a question from its copy of the transcript', async () => {
    const store = createRedisTaskStore({ redis, prefix, retentionDays: 1 });
    closeStore = () => store.close();
    await redis.set(`${prefix}transcript:t1`, JSON.stringify(msgs(1, 6)), 'EX', 60);
    await redis.set(`${prefix}transcript:t1.question`, JSON.stringify(msgs(1, 4)), 'EX', 60);

    const resumed = await store.rewindTranscript('t1', 'question');
    await store.appendTranscript('t1', [msg(9)]);

    expect(resumed).toEqual(msgs(1, 4));
    expect(await store.rewindTranscript('t1', 'question')).toEqual(msgs(1, 4));
  });
});
