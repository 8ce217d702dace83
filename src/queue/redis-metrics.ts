import type { Redis } from 'ioredis';
import {
  COUNTERS,
  type CountedTask,
  type DashboardSource,
  dayOf,
  type FailureReason,
  HISTOGRAMS,
  type MetricsReader,
  type MetricsRecorder,
} from '../domain/metrics.js';
import type { Usage } from '../domain/task.js';
import type { Clock } from '../lib/clock.js';
import {
  batchHashAdds,
  createMetricHashes,
  type HashLimits,
  type Increment,
  observation,
} from './redis-metric-hashes.js';

const DAY_MS = 86_400_000;
/** Prometheus series: label values are few (sources, statuses, stages, models, repositories). */
const SERIES: HashLimits = { maxFields: 2_000, ttlMs: 90 * DAY_MS };
/** Per-day dashboard counts: read for the last 30 days, gone two days later. */
const SPEND_DAY: HashLimits = { maxFields: 1_000, ttlMs: 32 * DAY_MS };
const FAILURES_DAY: HashLimits = { maxFields: 200, ttlMs: 32 * DAY_MS };
const QUEUE_WAITS = { max: 500, ttlMs: 7 * DAY_MS };
/** Repositories past SPEND_DAY's limit on one day still add to the day's total. */
const OTHER_REPOSITORIES = '(other repositories)';
const OTHER_MESSAGES = '(other messages)';
/** Webhook answers and inbox lags are written to Redis in batches, at most this often per hash. */
const OBSERVATION_WINDOW_MS = 250;

/**
 * Keeps the previous totals of a task's usage and stores the new ones where they grew, in one step:
 * the caller counts only the growth, so two processes reporting the same usage count it once.
 * ARGV: ttl ms, then field, total pairs. Returns the previous totals.
 */
const GROWTH = `
local out = {}
for i = 2, #ARGV, 2 do
  local before = redis.call('HGET', KEYS[1], ARGV[i]) or '0'
  out[#out + 1] = before
  if tonumber(ARGV[i + 1]) > tonumber(before) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return out`;

export interface RedisMetricsDeps {
  redis: Redis;
  prefix: string;
  clock: Clock;
  /** How long a task's "already counted" marks are kept: as long as the task itself. */
  retentionDays: number;
  /** BullMQ's job counts of the task queue. */
  jobCounts: () => Promise<Record<string, number>>;
}

/**
 * Patchbay's counts in Redis, under `<prefix>metrics:`: written by every worker (and the server, for
 * webhooks and cancels of queued tasks), read by any server process for `GET /metrics` and the
 * dashboard. Every key is capped and expires (see docs/metrics.md for the list).
 */
export function createRedisMetrics(
  deps: RedisMetricsDeps,
): MetricsRecorder & MetricsReader & DashboardSource & { flush(): Promise<void> } {
  const { redis, prefix, clock } = deps;
  const hashes = createMetricHashes(redis);
  const frequent = batchHashAdds(hashes, OBSERVATION_WINDOW_MS);
  const key = (name: string) => `${prefix}metrics:${name}`;
  const countedKey = (taskId: string) => key(`counted:${taskId}`);
  const spendKey = (day: string) => key(`spend:${day}`);
  const failuresKey = (day: string) => key(`failures:${day}`);

  /** Only the growth of the task's totals since they were last counted. */
  async function growth(taskId: string, totals: Record<string, number>): Promise<Record<string, number>> {
    const fields = Object.keys(totals);
    const args = fields.flatMap((f) => [f, String(totals[f])]);
    const ttl = String(deps.retentionDays * DAY_MS);
    const before = (await redis.eval(GROWTH, 1, countedKey(taskId), ttl, ...args)) as string[];
    return Object.fromEntries(
      fields.map((f, i) => [f, Math.max(0, (totals[f] ?? 0) - Number(before[i] ?? 0))]),
    );
  }

  async function countUsage(task: CountedTask, usage: Usage): Promise<void> {
    const totals: Record<string, number> = {
      prompt: usage.promptTokens,
      cached: usage.cachedTokens,
      completion: usage.completionTokens,
    };
    if (usage.usd !== null) totals.usd = usage.usd;
    const grown = await growth(task.id, totals);
    const tokens: Increment[] = (['prompt', 'cached', 'completion'] as const)
      .filter((kind) => (grown[kind] ?? 0) > 0)
      .map((kind) => ({ field: [task.model, kind], by: grown[kind] ?? 0 }));
    const usd = grown.usd ?? 0;
    await Promise.all([
      hashes.add(key('tokens'), tokens, SERIES),
      usd > 0
        ? hashes.add(key('cost'), [{ field: [task.model, task.repository], by: usd, float: true }], SERIES)
        : null,
      usd > 0
        ? hashes.add(
            spendKey(dayOf(clock.now())),
            [{ field: [task.repository], by: usd, float: true, fallback: [OTHER_REPOSITORIES] }],
            SPEND_DAY,
          )
        : null,
    ]);
  }

  async function countEnd(task: CountedTask, status: string, failure?: FailureReason): Promise<void> {
    const first = await redis.hsetnx(countedKey(task.id), `end:${task.run}:${status}`, '1');
    if (first !== 1) return;
    await redis.pexpire(countedKey(task.id), deps.retentionDays * DAY_MS);
    await Promise.all([
      hashes.add(key('tasks'), [{ field: [task.source, status], by: 1 }], SERIES),
      failure
        ? hashes.add(
            failuresKey(dayOf(clock.now())),
            [{ field: [failure.code, failure.message], by: 1, fallback: [failure.code, OTHER_MESSAGES] }],
            FAILURES_DAY,
          )
        : null,
    ]);
  }

  async function observeQueueWait(seconds: number): Promise<void> {
    const list = key('queue-waits');
    await redis
      .multi()
      .lpush(list, `${clock.now()} ${seconds}`)
      .ltrim(list, 0, QUEUE_WAITS.max - 1)
      .pexpire(list, QUEUE_WAITS.ttlMs)
      .exec();
    await observeStage('queued', seconds);
  }

  function observeStage(stage: string, seconds: number): Promise<void> {
    return hashes.add(key('stages'), observation([stage], seconds, HISTOGRAMS.stages.buckets), SERIES);
  }

  return {
    countUsage,
    countEnd,
    observeStage,
    observeQueueWait,
    observeWebhook: (source, seconds) =>
      frequent.add(key('webhooks'), observation([source], seconds, HISTOGRAMS.webhooks.buckets), SERIES),
    observeInboxLag: (kind, seconds) =>
      frequent.add(key('inbox'), observation([kind], seconds, HISTOGRAMS.inbox.buckets), SERIES),
    /** Writes the observations still waiting for their batch (before the connection closes). */
    flush: frequent.flush,

    counter: (name) => hashes.readCounter(key(name), COUNTERS[name].labels.length),
    histogram: (name) =>
      hashes.readHistogram(key(name), HISTOGRAMS[name].labels.length, HISTOGRAMS[name].buckets),
    jobCounts: deps.jobCounts,

    async workersSeenSince(since) {
      return redis.zrangebyscore(workersKey(prefix), since, '+inf');
    },
    async queueWaitsSince(since) {
      const entries = await redis.lrange(key('queue-waits'), 0, -1);
      return entries.flatMap((entry) => {
        const [at, seconds] = entry.split(' ').map(Number);
        return at !== undefined && seconds !== undefined && at >= since && Number.isFinite(seconds)
          ? [seconds]
          : [];
      });
    },
    async spendOn(days) {
      const all = await Promise.all(days.map((day) => hashes.read(spendKey(day))));
      return all.map((fields) =>
        Object.fromEntries(fields.filter((f) => f.parts.length === 1).map((f) => [f.parts[0], f.value])),
      );
    },
    async failuresOn(days) {
      const all = await Promise.all(days.map((day) => hashes.read(failuresKey(day))));
      return all.map((fields) =>
        fields
          .filter((f) => f.parts.length === 2)
          .map((f) => ({ code: f.parts[0] ?? '', message: f.parts[1] ?? '', count: f.value })),
      );
    },
  };
}

/** The sorted set of worker heartbeats (member: worker id, score: last beat in ms), written by each worker. */
export const workersKey = (prefix: string) => `${prefix}metrics:workers`;
