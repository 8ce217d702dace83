import { randomBytes } from 'node:crypto';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../src/domain/events.js';
import { newTaskRecord, type TaskRecord } from '../../src/domain/task.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createRedisMetrics } from '../../src/queue/redis-metrics.js';
import { createTaskQueue } from '../../src/queue/task-queue.js';
import { startWorkerHeartbeat } from '../../src/queue/worker-heartbeat.js';
import { readDashboardStats } from '../../src/server/dashboard-stats.js';
import { createMetricsObserver } from '../../src/tasks/metrics-observer.js';
import { createManualClock, type ManualClock } from '../fakes/manual-clock.js';
import { REDIS_URL } from '../fakes/redis.js';

const DAY = 86_400_000;
let redis: Redis;
let prefix: string;
let clock: ManualClock;
const closers: Array<() => Promise<unknown>> = [];

beforeEach(() => {
  redis = new Redis(REDIS_URL);
  prefix = `pbtest:${randomBytes(4).toString('hex')}:`;
  clock = createManualClock(Date.parse('2025-03-01T10:00:00Z'));
});
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

function setUp(jobCounts: () => Promise<Record<string, number>> = async () => ({})) {
  const metrics = createRedisMetrics({ redis, prefix, clock, retentionDays: 30, jobCounts });
  const observer = createMetricsObserver({
    metrics,
    model: 'gpt-x',
    clock,
    redact: (t) => t.replace('s3cret', '***'),
  });
  const stats = (opts = {}) => readDashboardStats({ source: metrics, clock }, opts);
  return { observer, stats };
}

/** A task as the worker reports it: queued `waitedS` before it started, now. */
function aTask(id: string, repo: string, waitedS: number): TaskRecord {
  const created = new Date(clock.now() - waitedS * 1000);
  const task = newTaskRecord(
    id,
    {
      repo,
      instruction: 'fix it',
      conversation: `api:${id}`,
      origin: { source: 'api', label: 'HTTP API' },
    },
    created,
  );
  return { ...task, status: 'running', attempts: 1, startedAt: new Date(clock.now()).toISOString() };
}

const spent = (task: TaskRecord, usd: number): TaskRecord => ({
  ...task,
  usage: { ...task.usage, promptTokens: 1_000, usd },
});

/** Plays a run through the observer: started, one step, then its end. */
async function run(
  observer: ReturnType<typeof createMetricsObserver>,
  task: TaskRecord,
  usd: number,
  end: 'finished' | { code: string; message: string; status?: 'failed' | 'cancelled' },
) {
  const events: TaskEvent[] = [
    { type: 'started', task, stage: 'clone' },
    { type: 'stage', task, stage: 'agent' },
    {
      type: 'step',
      task: spent(task, usd / 2),
      step: { step: 1, tool: 'bash', detail: 'bash: ls', usage: spent(task, usd / 2).usage, elapsedMs: 1 },
    },
  ];
  const last = spent(task, usd);
  if (end === 'finished')
    events.push({ type: 'finished', task: { ...last, status: 'succeeded' }, summary: 'done', checks: [] });
  else
    events.push({
      type: 'failed',
      task: { ...last, status: end.status ?? 'failed' },
      code: end.code,
      message: end.message,
    });
  for (const event of events) await observer.report(event);
}

describe('the dashboard’s numbers', () => {
  it('sums spend per day and per repository over the last 30 days', async () => {
    const { observer, stats } = setUp();

    await run(observer, aTask('t1', 'acme/web', 2), 0.5, 'finished');
    await run(observer, aTask('t2', 'acme/api', 4), 1.25, 'finished');
    clock.advance(DAY);
    await run(observer, aTask('t3', 'acme/web', 10), 2, 'finished');
    const read = await stats();

    expect(read.spend.days).toHaveLength(30);
    expect(read.spend.days.slice(-3)).toEqual([
      { day: '2025-02-28', usd: 0, byRepository: {} },
      { day: '2025-03-01', usd: 1.75, byRepository: { 'acme/web': 0.5, 'acme/api': 1.25 } },
      { day: '2025-03-02', usd: 2, byRepository: { 'acme/web': 2 } },
    ]);
    expect(read.spend.byRepository).toEqual([
      { repository: 'acme/web', usd: 2.5 },
      { repository: 'acme/api', usd: 1.25 },
    ]);
    expect(read.spend.totalUsd).toBe(3.75);
    expect(read.queueWait).toEqual({ tasks: 3, medianSeconds: 4, p90Seconds: 8.8 });
  });

  it('leaves days older than the window out', async () => {
    const { observer, stats } = setUp();

    await run(observer, aTask('t1', 'acme/web', 1), 1, 'finished');
    clock.advance(30 * DAY); // 1 March is the 31st day back
    const read = await stats();

    expect(read.spend.totalUsd).toBe(0);
    expect([read.spend.days[0]?.day, read.spend.days.at(-1)?.day]).toEqual(['2025-03-02', '2025-03-31']);
  });

  it('ranks the failure reasons that recur, redacted, cancels left out', async () => {
    const { observer, stats } = setUp();

    await run(observer, aTask('t1', 'acme/web', 1), 0, {
      code: 'budget_exhausted',
      message: 'spent 3 USD in 1043 steps',
    });
    await run(observer, aTask('t2', 'acme/web', 1), 0, {
      code: 'checks_failed',
      message: 'token s3cret refused',
    });
    clock.advance(DAY);
    await run(observer, aTask('t3', 'acme/api', 1), 0, {
      code: 'budget_exhausted',
      message: 'spent 3 USD in 2210 steps',
    });
    await run(observer, aTask('t4', 'acme/api', 1), 0, {
      code: 'cancelled',
      message: 'cancelled on request',
      status: 'cancelled',
    });
    clock.advance(7 * DAY);
    await run(observer, aTask('t5', 'acme/api', 1), 0, { code: 'internal', message: 'boom' });
    const lastWeek = await stats();
    const lastMonth = await stats({ failureDays: 30 });

    expect(lastWeek.failures).toEqual({
      days: 7,
      reasons: [{ code: 'internal', message: 'boom', count: 1 }],
    });
    expect(lastMonth.failures.reasons).toEqual([
      { code: 'budget_exhausted', message: 'spent 3 USD in <n> steps', count: 2 },
      { code: 'checks_failed', message: 'token *** refused', count: 1 },
      { code: 'internal', message: 'boom', count: 1 },
    ]);
  });

  it('counts workers whose heartbeat is recent: they appear, go quiet and expire, or say goodbye', async () => {
    const { stats } = setUp();
    const log = createSilentLogger();
    // Each worker beats on a clock of its own: one that is never moved is a worker that stopped beating.
    const quiet = await startWorkerHeartbeat({
      redis,
      prefix,
      clock: createManualClock(clock.now()),
      log,
      id: 'quiet',
    });
    const workerClock = createManualClock(clock.now());
    const beating = await startWorkerHeartbeat({ redis, prefix, clock: workerClock, log, id: 'beating' });
    closers.push(
      () => quiet.stop(),
      () => beating.stop(),
    );

    const atStart = await stats();
    workerClock.advance(5_000); // its next beat
    await beating.settled();
    clock.advance(29_000);
    const before30s = await stats();
    clock.advance(2_000);
    const after30s = await stats();
    await beating.stop();
    const afterGoodbye = await stats();

    expect(atStart.workers).toEqual({ alive: 2, ids: ['beating', 'quiet'] });
    expect(before30s.workers).toEqual({ alive: 2, ids: ['beating', 'quiet'] });
    expect(after30s.workers).toEqual({ alive: 1, ids: ['beating'] });
    expect(afterGoodbye.workers).toEqual({ alive: 0, ids: [] });
  });

  it('reads running and queued tasks from the queue', async () => {
    const name = `pbtest-${randomBytes(4).toString('hex')}`;
    const queue = createTaskQueue({ connection: redis, name });
    closers.push(() => queue.queue.obliterate({ force: true }).then(() => queue.close()));
    const { stats } = setUp(() => queue.queue.getJobCounts());
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const connection = redis.duplicate({ maxRetriesPerRequest: null });
    const worker = new Worker(name, () => held, { connection, autorun: false });
    closers.unshift(async () => {
      release();
      await worker.close();
      connection.disconnect();
    });
    const active = new Promise<void>((resolve) => worker.once('active', () => resolve()));

    await queue.enqueue({ id: 't1', conversation: 'api:1' }, 1);
    void worker.run();
    await active;
    await queue.enqueue({ id: 't2', conversation: 'api:2' }, 1);
    await queue.enqueue({ id: 't3', conversation: 'api:3' }, 1);
    await queue.queue.add('task', { taskId: 't4', conversation: 'api:4', run: 1 }, { delay: 60_000 });
    const read = await stats();

    expect(read.tasks).toEqual({ running: 1, queued: 3 });
  });
});
