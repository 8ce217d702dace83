import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileConfig } from '../../src/config/file-schema.js';
import { buildConfig, parseEnv } from '../../src/config/load-config.js';
import { MAX_AUDIENCE, type ReplyAddress } from '../../src/domain/reply-address.js';
import { newTaskRecord } from '../../src/domain/task.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createRedisConversationStore } from '../../src/queue/redis-conversation-store.js';
import { createRedisIdempotencyStore } from '../../src/queue/redis-idempotency-store.js';
import { createRedisTaskStore } from '../../src/queue/redis-task-store.js';
import { createTaskQueue } from '../../src/queue/task-queue.js';
import { submitTask } from '../../src/tasks/submit-task.js';
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

const thread: ReplyAddress = {
  kind: 'slack-thread',
  team: 'T1',
  channel: 'C1',
  threadTs: '1.1',
  messageTs: '1.1',
};
const pull: ReplyAddress = { kind: 'github-pull', repo: 'acme/web', number: 7 };
const issue: ReplyAddress = { kind: 'linear-issue', issueId: 'i1' };

const aRequest = (extra: Record<string, unknown> = {}) => ({
  repo: 'acme/web',
  instruction: 'fix it',
  conversation: 'slack:T1:C1:1.1',
  origin: { source: 'slack' as const, label: 'Slack #eng' },
  ...extra,
});

function stores() {
  const store = createRedisTaskStore({ redis, prefix, retentionDays: 1 });
  closers.push(() => store.close());
  return { store, conversations: createRedisConversationStore({ redis, prefix, retentionDays: 1 }) };
}

describe('a task’s audience in Redis', () => {
  it('keeps the places in the order they joined, each once, and expires with the task', async () => {
    const { store } = stores();
    await store.create(newTaskRecord('t1', aRequest()), [thread]);

    const first = await store.join('t1', pull);
    const again = await store.join('t1', { ...pull, repo: 'ACME/web' });
    const sameThreadOtherMessage = await store.join('t1', { ...thread, messageTs: '2.2' });

    expect([first, again, sameThreadOtherMessage]).toEqual([true, false, false]);
    expect(await store.audience('t1')).toEqual([thread, pull]);
    expect(await redis.ttl(`${prefix}audience:t1`)).toBeGreaterThan(86_000);
  });

  it('holds at most MAX_AUDIENCE places', async () => {
    const { store } = stores();
    await store.create(newTaskRecord('t1', aRequest()), []);

    const joined: boolean[] = [];
    for (let n = 1; n <= MAX_AUDIENCE + 2; n += 1) {
      joined.push(await store.join('t1', { kind: 'github-pull', repo: 'acme/web', number: n }));
    }

    expect(joined.filter(Boolean)).toHaveLength(MAX_AUDIENCE);
    expect(await store.audience('t1')).toHaveLength(MAX_AUDIENCE);
  });

  it('reads the audience of a task stored by the previous version from its old fields, once', async () => {
    const { store } = stores();
    const old = {
      ...newTaskRecord('t1', aRequest()),
      request: {
        ...aRequest(),
        origin: {
          source: 'slack',
          label: 'Slack #eng',
          ref: { team: 'T1', channel: 'C1', thread_ts: '1.1', message_ts: '1.1', user: 'U1' },
        },
        alsoNotify: { source: 'linear', label: 'Linear ENG-1', ref: { mode: 'assignment', issueId: 'i1' } },
      },
    };
    await redis.set(`${prefix}task:t1`, JSON.stringify(old));

    // A worker first marks it running: the rewrite in the new shape must not lose its old places.
    await store.update('t1', () => ({ status: 'running' }));
    const audience = await store.audience('t1');
    const joined = await store.join('t1', pull);

    expect(audience).toEqual([thread, issue]);
    expect(joined).toBe(true);
    expect(await store.audience('t1')).toEqual([thread, issue, pull]);
    expect((await store.get('t1'))?.request.origin).toEqual({ source: 'slack', label: 'Slack #eng' });
  });

  it('reads where an old conversation began from its stored origin', async () => {
    const { conversations } = stores();
    const state = {
      id: 'slack:T1:C1:1.1',
      repo: 'acme/web',
      branch: 'patchbay/x',
      origin: {
        source: 'slack',
        label: 'Slack #eng',
        ref: { team: 'T1', channel: 'C1', thread_ts: '1.1', message_ts: '1.1' },
      },
    };
    await redis.set(`${prefix}conv:slack:T1:C1:1.1`, JSON.stringify(state));

    expect((await conversations.get('slack:T1:C1:1.1'))?.beganIn).toEqual(thread);
  });
});

describe('submit and the audience', () => {
  function submitDeps() {
    const config = buildConfig(parseEnv({}), FileConfig.parse({ repositories: [{ name: 'acme/web' }] }));
    const queue = createTaskQueue({ connection: redis, name: `pbtest-${randomBytes(4).toString('hex')}` });
    closers.push(async () => {
      await queue.queue.obliterate({ force: true });
      await queue.close();
    });
    const { store, conversations } = stores();
    const idempotency = createRedisIdempotencyStore({ redis, prefix });
    return { config, store, conversations, idempotency, queue, log: createSilentLogger() };
  }

  it('makes a PR follow-up of a conversation that began in Slack heard on the PR and in the thread', async () => {
    const deps = submitDeps();
    await deps.conversations.put({
      id: 'slack:T1:C1:1.1',
      repo: 'acme/web',
      branch: 'patchbay/x',
      beganIn: thread,
    });

    const { task } = await submitTask(
      deps,
      aRequest({ replyTo: pull, origin: { source: 'github', label: 'GitHub' } }),
    );

    expect(await deps.store.audience(task.id)).toEqual([pull, thread]);
  });

  it('makes an answer given in another place heard there for the rest of the run', async () => {
    const deps = submitDeps();
    const { task: asked } = await submitTask(deps, aRequest({ replyTo: thread }));
    await deps.store.update(asked.id, () => ({ status: 'waiting_for_input', question: 'comma?' }));
    await deps.conversations.setWaiting('slack:T1:C1:1.1', asked.id);

    const { task, kind } = await submitTask(deps, aRequest({ instruction: 'yes', replyTo: pull }));

    expect(kind).toBe('answer');
    expect(task.id).toBe(asked.id);
    expect(await deps.store.audience(asked.id)).toEqual([thread, pull]);
  });
});
