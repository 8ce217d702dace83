import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskStage } from '../../src/domain/events.js';
import { newTaskRecord, type TaskRecord } from '../../src/domain/task.js';
import { createRedisMetrics } from '../../src/queue/redis-metrics.js';
import { createMetricsObserver } from '../../src/tasks/metrics-observer.js';
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

describe('the metrics observer', () => {
  it("times each stage from the events on its clock, drops a failed attempt's open stage, and counts the queue wait once", async () => {
    const clock = createManualClock(Date.parse('2025-03-01T10:00:00Z'));
    const metrics = createRedisMetrics({
      redis,
      prefix,
      clock,
      retentionDays: 30,
      jobCounts: async () => ({}),
    });
    const observer = createMetricsObserver({ metrics, model: 'gpt-x', clock });
    const queued = newTaskRecord(
      't1',
      {
        repo: 'acme/web',
        instruction: 'x',
        conversation: 'api:1',
        origin: { source: 'api', label: 'HTTP API' },
      },
      new Date(clock.now() - 3_000),
    );
    const attempt = (n: number): TaskRecord => ({
      ...queued,
      status: 'running',
      attempts: n,
      startedAt: new Date(clock.now()).toISOString(),
    });
    const stage = (task: TaskRecord, name: TaskStage, afterMs: number) => {
      clock.advance(afterMs);
      return observer.report({ type: 'stage', task, stage: name });
    };

    const first = attempt(1);
    await observer.report({ type: 'started', task: first, stage: 'clone' });
    await stage(first, 'setup', 2_000);
    await stage(first, 'agent', 3_000);
    clock.advance(10_000); // the attempt fails transiently: no event; BullMQ retries it
    const second = attempt(2);
    await observer.report({ type: 'started', task: second, stage: 'clone' });
    await stage(second, 'setup', 1_000);
    await stage(second, 'agent', 1_000);
    await stage(second, 'checks', 10_000);
    await stage(second, 'pull_request', 2_000);
    clock.advance(1_000);
    await observer.report({
      type: 'finished',
      task: { ...second, status: 'succeeded' },
      summary: 's',
      checks: [],
    });

    const stages = Object.fromEntries(
      (await metrics.histogram('stages')).map((s) => [s.labels[0], { count: s.count, sum: s.sum }]),
    );
    expect(stages).toEqual({
      queued: { count: 1, sum: 3 },
      clone: { count: 2, sum: 3 },
      setup: { count: 2, sum: 4 },
      agent: { count: 1, sum: 10 },
      checks: { count: 1, sum: 2 },
      pull_request: { count: 1, sum: 1 },
    });
    expect(await metrics.counter('tasks')).toEqual([{ labels: ['api', 'succeeded'], value: 1 }]);
  });
});
