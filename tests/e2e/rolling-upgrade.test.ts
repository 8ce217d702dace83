import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { emptyUsage } from '../../src/domain/task.js';
import { createTaskQueue } from '../../src/queue/task-queue.js';
import { isFinal, REPO } from '../fakes/harness.js';
import { REDIS_URL } from '../fakes/redis.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { slackPerTest } from '../fakes/slack-per-test.js';
import { eventually, nextTs } from '../fakes/slack-requests.js';

const startSlack = slackPerTest();

describe('a rolling upgrade', () => {
  it('runs a task the previous version stored and queued, and reports it in its Slack thread', async () => {
    const { h, posts, reactions } = await startSlack(FIX_GREETING);
    const { PATCHBAY_REDIS_PREFIX: prefix = '', PATCHBAY_QUEUE: queueName = '' } = h.workerProcessEnv;
    const redis = new Redis(REDIS_URL);
    const queue = createTaskQueue({ connection: redis, name: queueName });
    const ts = nextTs();
    const conversation = `slack:T0PATCH:C0GENERAL:${ts}`;
    const now = new Date().toISOString();
    // As the previous version wrote it: the thread in `origin.ref`, no audience of its own.
    const old = {
      id: 'tupgrade1',
      conversation,
      request: {
        repo: REPO,
        instruction: 'fix the greeting',
        conversation,
        origin: {
          source: 'slack',
          label: 'Slack #general',
          requester: 'U0ALICE',
          ref: { team: 'T0PATCH', channel: 'C0GENERAL', thread_ts: ts, message_ts: ts, user: 'U0ALICE' },
        },
      },
      status: 'queued',
      steps: 0,
      attempts: 0,
      runs: 1,
      usage: emptyUsage(),
      checks: [],
      createdAt: now,
      updatedAt: now,
    };

    try {
      await redis.set(`${prefix}task:${old.id}`, JSON.stringify(old), 'EX', 3_600);
      await queue.enqueue({ id: old.id, conversation }, 1);
      const task = await h.waitFor(old.id, isFinal);
      const result = await eventually(() => posts(ts).find((p) => p.args.text?.includes('greet() now puts')));
      const done = await eventually(() => reactions(ts).find((r) => r.args.name === 'white_check_mark'));

      expect(task.status).toBe('succeeded');
      expect(task.pullRequest?.number).toBe(1);
      expect(result.args.text).toContain('Pull request #1');
      expect(done.args.channel).toBe('C0GENERAL');
      expect(await redis.lrange(`${prefix}audience:${old.id}`, 0, -1)).toHaveLength(2);
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });
});
