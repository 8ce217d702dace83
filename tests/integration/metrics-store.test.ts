import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CountedTask, dayOf } from '../../src/domain/metrics.js';
import { emptyUsage, type Usage } from '../../src/domain/task.js';
import { createRedisMetrics } from '../../src/queue/redis-metrics.js';
import { createManualClock } from '../fakes/manual-clock.js';
import { REDIS_URL } from '../fakes/redis.js';

let redis: Redis;
let prefix: string;

beforeEach(() => {
  redis = new Redis(REDIS_URL);
  prefix = `pbtest:${randomBytes(4).toString('hex')}:`;
});
afterEach(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const clock = createManualClock(Date.parse('2025-03-01T10:00:00Z'));

/** One process's view of the counts: several of them share one Redis, as workers do. */
const aProcess = () =>
  createRedisMetrics({ redis, prefix, clock, retentionDays: 30, jobCounts: async () => ({}) });

const task: CountedTask = { id: 't1', run: 1, source: 'slack', repository: 'acme/web', model: 'gpt-x' };
const usage = (steps: number): Usage => ({
  ...emptyUsage(),
  promptTokens: steps * 1_000,
  cachedTokens: steps * 600,
  completionTokens: steps * 100,
  usd: steps * 0.25,
});

describe('counts in Redis', () => {
  it("counts a task's usage once, whichever process reports the same totals again", async () => {
    const first = aProcess();
    const second = aProcess();

    await first.countUsage(task, usage(1));
    await first.countUsage(task, usage(2));
    await second.countUsage(task, usage(2)); // a retry on another worker reports what was spent so far
    await second.countUsage(task, usage(3));
    await first.countUsage(task, usage(1)); // a late, older report adds nothing

    const tokens = await first.counter('tokens');
    expect(tokens).toEqual(
      expect.arrayContaining([
        { labels: ['gpt-x', 'prompt'], value: 3_000 },
        { labels: ['gpt-x', 'cached'], value: 1_800 },
        { labels: ['gpt-x', 'completion'], value: 300 },
      ]),
    );
    expect(tokens).toHaveLength(3);
    const cost = await first.counter('cost');
    expect(cost).toHaveLength(1);
    expect(cost[0]?.labels).toEqual(['gpt-x', 'acme/web']);
    expect(cost[0]?.value).toBeCloseTo(0.75, 9);
    const [spend] = await first.spendOn([dayOf(clock.now())]);
    expect(spend?.['acme/web']).toBeCloseTo(0.75, 9);
  });

  it('counts no cost for a model without a price, and its tokens still', async () => {
    const metrics = aProcess();

    await metrics.countUsage(task, { ...usage(1), usd: null });

    expect(await metrics.counter('cost')).toEqual([]);
    expect(await metrics.counter('tokens')).toContainEqual({ labels: ['gpt-x', 'prompt'], value: 1_000 });
  });

  it("counts a run's end once per status, and a task's question and its end apart", async () => {
    const first = aProcess();
    const second = aProcess();

    await first.countEnd(task, 'waiting_for_input');
    await second.countEnd({ ...task, run: 2 }, 'failed', { code: 'checks', message: 'npm test failed' });
    await first.countEnd({ ...task, run: 2 }, 'failed', { code: 'checks', message: 'npm test failed' });

    expect(await first.counter('tasks')).toEqual(
      expect.arrayContaining([
        { labels: ['slack', 'waiting_for_input'], value: 1 },
        { labels: ['slack', 'failed'], value: 1 },
      ]),
    );
    const [failures] = await first.failuresOn([dayOf(clock.now())]);
    expect(failures).toEqual([{ code: 'checks', message: 'npm test failed', count: 1 }]);
  });

  it('keeps histogram buckets cumulative, with sum and count', async () => {
    const metrics = aProcess();

    await metrics.observeStage('clone', 0.3);
    await metrics.observeStage('clone', 4);
    await metrics.observeStage('clone', 7_000); // past the last bound: only in +Inf (the count)
    await metrics.observeWebhook('github', 0.02);

    const [clone] = await metrics.histogram('stages');
    expect(clone?.labels).toEqual(['clone']);
    // bounds 0.1, 0.5, 1, 2.5, 5, 10, …, 3600
    expect(clone?.buckets.slice(0, 6)).toEqual([0, 1, 1, 1, 2, 2]);
    expect(clone?.buckets.at(-1)).toBe(2);
    expect(clone?.count).toBe(3);
    expect(clone?.sum).toBeCloseTo(7_004.3, 6);
    const [github] = await metrics.histogram('webhooks');
    expect(github).toMatchObject({ labels: ['github'], count: 1 });
  });

  it("bounds a day's failure reasons: past the limit, a new message counts under its code's other messages", async () => {
    const metrics = aProcess();

    for (let i = 0; i < 205; i++) {
      const reason = {
        code: i < 200 ? 'internal' : 'push_rejected',
        message: `distinct failure ${'x'.repeat(i)}`,
      };
      await metrics.countEnd({ ...task, id: `t${i}` }, 'failed', reason);
    }

    const [failures = []] = await metrics.failuresOn([dayOf(clock.now())]);
    expect(failures).toHaveLength(201);
    expect(failures).toContainEqual({ code: 'push_rejected', message: '(other messages)', count: 5 });
  });

  it('gives every key it writes an expiry', async () => {
    const metrics = aProcess();

    await metrics.countUsage(task, usage(1));
    await metrics.countEnd(task, 'failed', { code: 'internal', message: 'boom' });
    await metrics.observeQueueWait(2);
    await metrics.observeStage('agent', 30);
    await metrics.observeWebhook('slack', 0.1);

    const keys = (await redis.keys(`${prefix}*`)).map((key) => key.slice(prefix.length)).sort();
    const expiring = await Promise.all(keys.map(async (key) => [key, (await redis.pttl(prefix + key)) > 0]));
    expect(keys).toEqual([
      'metrics:cost',
      'metrics:counted:t1',
      `metrics:failures:${dayOf(clock.now())}`,
      'metrics:queue-waits',
      `metrics:spend:${dayOf(clock.now())}`,
      'metrics:stages',
      'metrics:tasks',
      'metrics:tokens',
      'metrics:webhooks',
    ]);
    expect(Object.fromEntries(expiring)).toEqual(Object.fromEntries(keys.map((key) => [key, true])));
  });
});
