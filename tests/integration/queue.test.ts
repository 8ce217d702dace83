import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileConfig } from '../../src/config/file-schema.js';
import { buildConfig, parseEnv } from '../../src/config/load-config.js';
import { PatchbayError } from '../../src/domain/errors.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createConversationLock } from '../../src/queue/conversation-lock.js';
import { createRedisCancelBus } from '../../src/queue/redis-cancel-bus.js';
import { createRedisConversationStore } from '../../src/queue/redis-conversation-store.js';
import { createRedisIdempotencyStore } from '../../src/queue/redis-idempotency-store.js';
import { createRedisTaskStore } from '../../src/queue/redis-task-store.js';
import { createTaskQueue, toJobId } from '../../src/queue/task-queue.js';
import { cancelTask } from '../../src/tasks/cancel-task.js';
import { submitTask } from '../../src/tasks/submit-task.js';
import { createManualClock } from '../fakes/manual-clock.js';
import { REDIS_URL } from '../fakes/redis.js';
import { eventually } from '../fakes/slack-requests.js';

const log = createSilentLogger();
let redis: Redis;
let prefix: string;
const cleanups: Array<() => Promise<unknown>> = [];

beforeEach(() => {
  redis = new Redis(REDIS_URL);
  prefix = `pbtest:${randomBytes(4).toString('hex')}:`;
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

function submitDeps() {
  const config = buildConfig(
    parseEnv({}),
    FileConfig.parse({ repositories: [{ name: 'acme/web' }, { name: 'acme/api' }] }),
  );
  const queue = createTaskQueue({ connection: redis, name: `pbtest-${randomBytes(4).toString('hex')}` });
  cleanups.push(async () => {
    await queue.queue.obliterate({ force: true });
    await queue.close();
  });
  return {
    config,
    store: createRedisTaskStore({ redis, prefix, retentionDays: 1 }),
    conversations: createRedisConversationStore({ redis, prefix, retentionDays: 1 }),
    idempotency: createRedisIdempotencyStore({ redis, prefix }),
    queue,
    log,
  };
}

const request = (extra: Record<string, unknown> = {}) => ({
  repo: 'acme/web',
  instruction: 'fix it',
  conversation: 'api:c1',
  origin: { source: 'api', label: 'HTTP API', ref: {} },
  ...extra,
});

describe('submitTask', () => {
  it('queues a new task as a BullMQ job whose id has no colon', async () => {
    const deps = submitDeps();

    const { task, kind } = await submitTask(deps, request());

    expect(kind).toBe('new');
    expect(task.status).toBe('queued');
    const job = await deps.queue.queue.getJob(toJobId(task.id, 1));
    expect(job?.data).toEqual({ taskId: task.id, conversation: 'api:c1', run: 1 });
    expect(job?.id).not.toContain(':');
  });

  it('answers a repeated delivery with the first task, also after its job was removed', async () => {
    const deps = submitDeps();

    const first = await submitTask(deps, request({ deliveryId: 'slack:Ev1' }));
    await deps.queue.queue.obliterate({ force: true });
    const again = await submitTask(deps, request({ deliveryId: 'slack:Ev1' }));

    expect(again.kind).toBe('duplicate');
    expect(again.task.id).toBe(first.task.id);
    expect(await deps.queue.queue.getJobCounts('waiting')).toEqual({ waiting: 0 });
  });

  it('turns the next message of a conversation waiting on a question into the answer', async () => {
    const deps = submitDeps();
    const { task } = await submitTask(deps, request());
    await deps.store.update(task.id, () => ({ status: 'waiting_for_input', question: 'which?' }));
    await deps.conversations.setWaiting('api:c1', task.id);

    const answer = await submitTask(deps, request({ instruction: 'the blue one' }));
    const again = await submitTask(deps, request({ instruction: 'and another thing' }));

    expect(answer).toMatchObject({
      kind: 'answer',
      task: { id: task.id, status: 'queued', answer: 'the blue one', runs: 2 },
    });
    expect(await deps.queue.queue.getJob(toJobId(task.id, 2))).toBeDefined();
    expect(again.kind).toBe('new');
    expect(again.task.id).not.toBe(task.id);
  });

  it('starts one task when two copies of a delivery arrive at the same moment', async () => {
    const deps = submitDeps();

    const results = await Promise.all(
      Array.from({ length: 5 }, () => submitTask(deps, request({ deliveryId: 'slack:EvSame' }))),
    );

    expect(new Set(results.map((r) => r.task.id)).size).toBe(1);
    expect(results.filter((r) => r.kind === 'new')).toHaveLength(1);
    expect(await deps.queue.queue.count()).toBe(1);
  });

  it('keeps the question waiting when its answer cannot be queued', async () => {
    const deps = submitDeps();
    const { task } = await submitTask(deps, request());
    await deps.store.update(task.id, () => ({ status: 'waiting_for_input', question: 'which?' }));
    await deps.conversations.setWaiting('api:c1', task.id);
    const broken = {
      ...deps,
      queue: { ...deps.queue, enqueue: () => Promise.reject(new Error('redis down')) },
    };

    const err = await submitTask(broken, request({ instruction: 'the blue one' })).catch(
      (e: PatchbayError) => e,
    );
    const retried = await submitTask(deps, request({ instruction: 'the blue one' }));

    expect((err as PatchbayError).code).toBe('internal');
    expect(retried).toMatchObject({ kind: 'answer', task: { id: task.id, answer: 'the blue one' } });
  });

  it('leaves no job behind when the task is cancelled between its record and its job', async () => {
    const deps = submitDeps();
    let recorded: () => void = () => undefined;
    const whenRecorded = new Promise<void>((resolve) => {
      recorded = resolve;
    });
    let letEnqueue: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      letEnqueue = resolve;
    });
    const held = {
      ...deps,
      queue: {
        ...deps.queue,
        enqueue: async (...args: Parameters<typeof deps.queue.enqueue>) => {
          recorded(); // the record is written; its job is not yet
          await gate;
          return deps.queue.enqueue(...args);
        },
      },
    };
    const cancels = createRedisCancelBus({ redis, prefix });
    cleanups.push(() => cancels.close());

    const submitting = submitTask(held, request());
    await whenRecorded;
    const [queued] = await redis.keys(`${prefix}task:*`);
    const taskId = (queued ?? '').slice(`${prefix}task:`.length);
    const cancelled = await cancelTask({ ...deps, cancels }, taskId);
    letEnqueue();
    await submitting;

    expect(cancelled.status).toBe('cancelled');
    expect(await deps.queue.queue.count()).toBe(0);
    expect((await deps.store.get(taskId))?.status).toBe('cancelled');
  });

  it.each([
    [{ repo: 'evil/repo' }, 'repo_not_allowed'],
    [{ instruction: '   ' }, 'invalid_request'],
    [{ repo: 'acme/web/../x' }, 'invalid_request'],
  ])('refuses %j with %s and queues nothing', async (extra, code) => {
    const deps = submitDeps();

    const err = await submitTask(deps, request(extra)).catch((e: PatchbayError) => e);

    expect(err).toBeInstanceOf(PatchbayError);
    expect((err as PatchbayError).code).toBe(code);
    expect(await deps.queue.queue.count()).toBe(0);
  });

  it('refuses to move a conversation to another repository', async () => {
    const deps = submitDeps();
    await deps.conversations.put({ id: 'api:c1', repo: 'acme/web', branch: 'patchbay/x' });

    const err = await submitTask(deps, request({ repo: 'acme/api' })).catch((e: PatchbayError) => e);

    expect((err as PatchbayError).code).toBe('invalid_request');
  });

  it('takes the conversation a caller just read instead of reading it again, only for that conversation', async () => {
    const deps = submitDeps();
    let reads = 0;
    const conversations = {
      ...deps.conversations,
      get: (id: string) => {
        reads += 1;
        return deps.conversations.get(id);
      },
    };
    await deps.conversations.put({ id: 'api:c1', repo: 'acme/web', branch: 'patchbay/x' });
    const stored = await deps.conversations.get('api:c1');

    const refused = await submitTask({ ...deps, conversations }, request({ repo: 'acme/api' }), {
      conversation: { id: 'api:c1', stored },
    }).catch((e: PatchbayError) => e);
    const made = await submitTask({ ...deps, conversations }, request({ conversation: 'api:c2' }), {
      conversation: { id: 'api:c1', stored: null }, // another conversation's: not taken
    });
    const fresh = await submitTask({ ...deps, conversations }, request({ conversation: 'api:c3' }), {
      conversation: { id: 'api:c3', stored: null }, // read just before: none
    });

    expect((refused as PatchbayError).code).toBe('invalid_request');
    expect([made.kind, fresh.kind]).toEqual(['new', 'new']);
    expect(reads).toBe(1); // api:c2's own
  });
});

describe('task store', () => {
  it('keeps every concurrent update', async () => {
    const { store, ...rest } = submitDeps();
    const { task } = await submitTask({ store, ...rest }, request());

    await Promise.all(
      Array.from({ length: 20 }, () => store.update(task.id, (t) => ({ steps: t.steps + 1 }))),
    );

    expect((await store.get(task.id))?.steps).toBe(20);
  });
});

describe('conversation lock', () => {
  it('lets one holder in at a time and another in once the holder releases', async () => {
    const locks = createConversationLock({ redis, prefix, ttlMs: 5_000, log });

    const first = await locks.acquire('c', 'job-1');
    const blocked = await locks.acquire('c', 'job-2');
    await first?.release();
    const second = await locks.acquire('c', 'job-2');

    expect(first).not.toBeNull();
    expect(blocked).toBeNull();
    expect(second).not.toBeNull();
    await second?.release();
  });

  it('expires after its holder dies, and the dead holder learns it lost the lease', async () => {
    const clock = createManualClock();
    const doomed = new Redis(REDIS_URL);
    const deadLocks = createConversationLock({ redis: doomed, prefix, ttlMs: 1_200, log, clock });
    const lease = await deadLocks.acquire('c', 'job-1');
    const locks = createConversationLock({ redis, prefix, ttlMs: 1_200, log });
    const lost = new Promise((r) => lease?.lost.addEventListener('abort', r));

    doomed.disconnect();
    clock.advance(400); // its next renewal, with Redis gone
    await lost;
    const taken = await eventually(() => locks.acquire('c', 'job-2')); // once Redis expired the key

    expect(lease?.lost.reason).toBe('lock_lost');
    await taken.release();
  });

  it('stays held past its ttl while the holder lives: each renewal restores the ttl', async () => {
    const clock = createManualClock();
    const locks = createConversationLock({ redis, prefix, ttlMs: 60_000, log, clock });
    const lease = await locks.acquire('c', 'job-1');
    const key = `${prefix}conv-lock:c`;

    await redis.pexpire(key, 5_000); // as if most of the ttl had gone by without a renewal
    clock.advance(20_000); // a third of the ttl: the holder renews
    await eventually(async () => (await redis.pttl(key)) > 5_000, 20_000, 'the renewal');

    expect(await locks.acquire('c', 'job-2')).toBeNull();
    expect(lease?.lost.aborted).toBe(false);
    await lease?.release();
  });
});

describe('cancel bus', () => {
  it('reaches a watcher in another connection, and one that starts watching late', async () => {
    const other = new Redis(REDIS_URL);
    const watcher = createRedisCancelBus({ redis: other, prefix });
    const asker = createRedisCancelBus({ redis, prefix });
    cleanups.push(async () => {
      await watcher.close();
      other.disconnect();
    });
    let live = 0;
    let reached: () => void = () => undefined;
    const reachedLive = new Promise<void>((r) => (reached = r));
    await watcher.watch('t1', () => {
      live++;
      reached();
    });

    await asker.request('t1');
    await reachedLive; // the pub/sub message, before the late watcher starts
    let late = 0;
    await watcher.watch('t1', () => late++);

    expect(live).toBe(1);
    expect(late).toBe(1);
  });
});
