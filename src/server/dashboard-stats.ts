import { type DashboardSource, daysUpTo, type FailureReason } from '../domain/metrics.js';
import type { Clock } from '../lib/clock.js';

/** A worker counts as alive when its last heartbeat (every 5 s) is at most this old. */
export const WORKER_ALIVE_MS = 30_000;
/** The queue wait is taken over the tasks that started this recently (at most the last 500). */
export const QUEUE_WAIT_WINDOW_MS = 24 * 3_600_000;
/** Days of spend kept per day in Redis, and the most the dashboard can show. */
export const MAX_SPEND_DAYS = 30;

/** The numbers at the top of the dashboard (`GET /tasks`): a plain object, ready for JSON. */
export interface DashboardStats {
  /** When they were read (ISO 8601). */
  at: string;
  /** From BullMQ: running = active jobs; queued = waiting, prioritized and delayed (retry backoff, a busy conversation). */
  tasks: { running: number; queued: number };
  /** Worker processes heard from within WORKER_ALIVE_MS, by id (`host:pid:random`). */
  workers: { alive: number; ids: string[] };
  /** How long new tasks waited between submit and their first start, over QUEUE_WAIT_WINDOW_MS. */
  queueWait: { tasks: number; medianSeconds: number | null; p90Seconds: number | null };
  spend: {
    /** One entry per UTC day, oldest first, today last; days without spend are 0. */
    days: Array<{ day: string; usd: number; byRepository: Record<string, number> }>;
    /** Over those days, most first. */
    byRepository: Array<{ repository: string; usd: number }>;
    totalUsd: number;
  };
  /** Failed tasks (not cancelled ones) over the last `days`, grouped by reason, most frequent first. */
  failures: { days: number; reasons: Array<FailureReason & { count: number }> };
}

export interface DashboardStatsOptions {
  /** Days of spend, today included (default and most: 30). */
  spendDays?: number;
  /** Days of failures, today included (default 7, most 30). */
  failureDays?: number;
  /** The most frequent reasons shown (default 10). */
  topFailures?: number;
}

const usd = (n: number) => Math.round(n * 1e6) / 1e6;

/** The `p` quantile (0…1) of sorted values, interpolated between neighbours; null without values. */
export function quantile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const at = p * (sorted.length - 1);
  const lo = sorted[Math.floor(at)] ?? 0;
  const hi = sorted[Math.ceil(at)] ?? lo;
  return lo + (hi - lo) * (at - Math.floor(at));
}

/**
 * Reads the dashboard's numbers: tasks running and queued, workers alive, the queue wait, spend per
 * day and per repository, and the failure reasons that recur. Time (today, "alive", "recent") is
 * `clock`'s.
 */
export async function readDashboardStats(
  deps: { source: DashboardSource; clock: Clock },
  opts: DashboardStatsOptions = {},
): Promise<DashboardStats> {
  const { source, clock } = deps;
  const now = clock.now();
  const spendDays = daysUpTo(now, clamp(opts.spendDays ?? MAX_SPEND_DAYS, 1, MAX_SPEND_DAYS));
  const failureDays = daysUpTo(now, clamp(opts.failureDays ?? 7, 1, MAX_SPEND_DAYS));
  const [counts, workers, waits, spend, failures] = await Promise.all([
    source.jobCounts(),
    source.workersSeenSince(now - WORKER_ALIVE_MS),
    source.queueWaitsSince(now - QUEUE_WAIT_WINDOW_MS),
    source.spendOn(spendDays),
    source.failuresOn(failureDays),
  ]);
  const sortedWaits = [...waits].sort((a, b) => a - b);
  return {
    at: new Date(now).toISOString(),
    tasks: {
      running: counts.active ?? 0,
      queued: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0),
    },
    workers: { alive: workers.length, ids: [...workers].sort() },
    queueWait: {
      tasks: waits.length,
      medianSeconds: quantile(sortedWaits, 0.5),
      p90Seconds: quantile(sortedWaits, 0.9),
    },
    spend: summarizeSpend(spendDays, spend),
    failures: {
      days: failureDays.length,
      reasons: summarizeFailures(failures.flat(), opts.topFailures ?? 10),
    },
  };
}

const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, Math.floor(n)));

function summarizeSpend(days: string[], perDay: Array<Record<string, number>>): DashboardStats['spend'] {
  const totals = new Map<string, number>();
  const daily = days.map((day, i) => {
    const byRepository = perDay[i] ?? {};
    for (const [repository, amount] of Object.entries(byRepository))
      totals.set(repository, (totals.get(repository) ?? 0) + amount);
    const total = Object.values(byRepository).reduce((a, b) => a + b, 0);
    const rounded = Object.fromEntries(Object.entries(byRepository).map(([r, a]) => [r, usd(a)]));
    return { day, usd: usd(total), byRepository: rounded };
  });
  const byRepository = [...totals]
    .map(([repository, amount]) => ({ repository, usd: usd(amount) }))
    .sort((a, b) => b.usd - a.usd || a.repository.localeCompare(b.repository));
  return { days: daily, byRepository, totalUsd: usd(byRepository.reduce((a, r) => a + r.usd, 0)) };
}

function summarizeFailures(entries: Array<FailureReason & { count: number }>, top: number) {
  const byReason = new Map<string, FailureReason & { count: number }>();
  for (const { code, message, count } of entries) {
    const id = JSON.stringify([code, message]);
    const seen = byReason.get(id);
    byReason.set(id, { code, message, count: (seen?.count ?? 0) + count });
  }
  return [...byReason.values()]
    .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code) || a.message.localeCompare(b.message))
    .slice(0, Math.max(0, top));
}
