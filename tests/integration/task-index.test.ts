import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileConfig } from '../../src/config/file-schema.js';
import { buildConfig, parseEnv } from '../../src/config/load-config.js';
import { newTaskRecord } from '../../src/domain/task.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createRedisConversationStore } from '../../src/queue/redis-conversation-store.js';
import { createRedisIdempotencyStore } from '../../src/queue/redis-idempotency-store.js';
import { createRedisTaskStore } from '../../src/queue/redis-task-store.js';
import { createTaskQueue } from '../../src/queue/task-queue.js';
import { retryTask } from '../../src/tasks/retry-task.js';
import { REDIS_URL } from '../fakes/redis.js';

let redis: Redis;
let prefix: string;
const closers: Array<() => Promise<unknown>> = [];

beforeEach(() => {
  redis = new Redis(REDIS_URL);
  prefix = `pbtest:${randomBytes(4).toString('hex')}:`;
});
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

function aStore() {
  const store = createRedisTaskStore({ redis, prefix, retentionDays: 1 });
  closers.push(() => store.close());
  return store;
}

const at = (minute: number) => new Date(Date.UTC(2026, 11, 3, 12, minute));

function aTask(
  id: string,
  minute: number,
  extra: { repo?: string; conversation?: string; source?: 'api' | 'slack' } = {},
) {
  return newTaskRecord(
    id,
    {
      repo: extra.repo ?? 'acme/web',
      instruction: `fix ${id}\nwith details`,
      conversation: extra.conversation ?? `api:${id}`,
      origin: { source: extra.source ?? 'api', label: 'HTTP API', requester: 'dana' },
    },
    at(minute),
  );
}

describe('the list of tasks', () => {
  it('pages newest first with a cursor, filters, and hides what the viewer may not see', async () => {
    const store = aStore();
    for (let m = 0; m < 7; m += 1) {
      await store.create(
        aTask(`t${m}`, m, { repo: m % 2 ? 'acme/api' : 'acme/web', source: m < 3 ? 'slack' : 'api' }),
        [],
      );
    }
    await store.update('t4', () => ({
      status: 'failed',
      error: { code: 'setup_failed', message: 'npm ci' },
    }));

    const first = await store.index.list({}, { limit: 3 });
    const second = await store.index.list({}, { limit: 3, cursor: first.next });
    const third = await store.index.list({}, { limit: 3, cursor: second.next });
    const failed = await store.index.list({ status: 'failed' }, { limit: 10 });
    const slackWeb = await store.index.list({ source: 'slack', repo: 'ACME/web' }, { limit: 10 });
    const visible = await store.index.list({}, { limit: 10, visible: async (repo) => repo === 'acme/api' });

    expect(first.tasks.map((t) => t.id)).toEqual(['t6', 't5', 't4']);
    expect(second.tasks.map((t) => t.id)).toEqual(['t3', 't2', 't1']);
    expect(third.tasks.map((t) => t.id)).toEqual(['t0']);
    expect(third.next).toBeUndefined();
    expect(failed.tasks).toEqual([
      expect.objectContaining({ id: 't4', error: { code: 'setup_failed', message: 'npm ci' } }),
    ]);
    expect(slackWeb.tasks.map((t) => t.id)).toEqual(['t2', 't0']);
    expect(visible.tasks.map((t) => t.id)).toEqual(['t5', 't3', 't1']);
    expect(first.tasks[0]).toMatchObject({ headline: 'fix t6', requester: 'dana', source: 'api' });
  });

  it('refuses a cursor it did not give out', async () => {
    const store = aStore();

    await expect(
      store.index.list({}, { limit: 3, cursor: Buffer.from('[evil').toString('base64url') }),
    ).rejects.toThrow(/cursor/);
  });

  it('counts the tasks waiting for an answer without reading the others, and forgets ones that ended', async () => {
    const store = aStore();
    for (const [id, repo] of [
      ['t1', 'acme/web'],
      ['t2', 'acme/api'],
      ['t3', 'acme/web'],
    ] as const) {
      await store.create(aTask(id, 1, { repo }), []);
      await store.update(id, () => ({ status: 'waiting_for_input', question: 'which?' }));
    }
    await store.update('t3', () => ({ status: 'queued', question: undefined }));

    const all = await store.index.waiting();
    const web = await store.index.waiting(async (repo) => repo === 'acme/web');

    expect(all.map((t) => t.id).sort()).toEqual(['t1', 't2']);
    expect(web.map((t) => t.id)).toEqual(['t1']);
  });

  it('lists a conversation’s tasks oldest first', async () => {
    const store = aStore();
    await store.create(aTask('t1', 1, { conversation: 'slack:T:C:1' }), []);
    await store.create(aTask('t2', 2, { conversation: 'api:other' }), []);
    await store.create(aTask('t3', 3, { conversation: 'slack:T:C:1' }), []);

    const tasks = await store.index.ofConversation('slack:T:C:1');

    expect(tasks.map((t) => t.id)).toEqual(['t1', 't3']);
  });
});

describe('retry', () => {
  it('starts one new task in the same conversation, heard where the first was, linked both ways', async () => {
    const store = aStore();
    const queue = createTaskQueue({ connection: redis, name: `pbtest-${randomBytes(4).toString('hex')}` });
    closers.push(async () => {
      await queue.queue.obliterate({ force: true });
      await queue.close();
    });
    const deps = {
      config: buildConfig(parseEnv({}), FileConfig.parse({ repositories: [{ name: 'acme/web' }] })),
      store,
      conversations: createRedisConversationStore({ redis, prefix, retentionDays: 1 }),
      idempotency: createRedisIdempotencyStore({ redis, prefix }),
      queue,
      log: createSilentLogger(),
    };
    const thread = { kind: 'slack-thread', team: 'T', channel: 'C', threadTs: '1.1' } as const;
    await store.create(aTask('t1', 1, { conversation: 'slack:T:C:1.1' }), [thread]);
    await store.update('t1', () => ({ status: 'failed', error: { code: 'model_error', message: 'x' } }));

    const running = await retryTask(deps, 't1').then(() => 'retried');
    const again = await retryTask(deps, 't1');
    const first = await store.get('t1');
    const retry = await store.get(first?.retriedBy ?? '');

    expect(running).toBe('retried');
    expect(again.kind).toBe('duplicate');
    expect(retry).toMatchObject({ retryOf: 't1', status: 'queued', conversation: 'slack:T:C:1.1', steps: 0 });
    expect(retry?.request.instruction).toBe(first?.request.instruction);
    expect(await store.audience(retry?.id ?? '')).toEqual([thread]);
    expect(await queue.queue.getJobCounts('wait')).toEqual({ wait: 1 });
    await expect(retryTask(deps, retry?.id ?? '')).rejects.toThrow(/only a failed or cancelled task/);
  });
});
