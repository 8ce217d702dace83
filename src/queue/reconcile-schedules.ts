import type { Redis } from 'ioredis';
import type { ScheduleStore } from '../domain/schedule.js';
import type { Logger } from '../lib/logger.js';
import type { AutomationQueue } from './automation-queue.js';
import { tryLease } from './redis-lease.js';

/** Longer than a reconciliation takes; a process that dies holding it only delays the next one. */
const LEASE_MS = 60_000;

/**
 * Makes BullMQ's job schedulers what patchbay.yml says, in one process at a time (a Redis lease; a
 * process that finds it held leaves the work to its holder): a new or changed schedule gets its
 * scheduler (the next tick follows the new pattern), a removed one loses its scheduler and its state.
 */
export async function reconcileSchedules(deps: {
  redis: Redis;
  prefix: string;
  queue: Pick<AutomationQueue, 'scheduledTicks' | 'upsertSchedule' | 'removeSchedule'>;
  store: Pick<ScheduleStore, 'remove'>;
  schedules: ReadonlyArray<{ name: string; cron: string; timezone: string }>;
  log: Logger;
}): Promise<{ reconciled: boolean; changed: string[]; removed: string[] }> {
  const lease = await tryLease(deps.redis, `${deps.prefix}schedules:reconcile`, LEASE_MS);
  if (!lease) {
    deps.log.info('schedules are being reconciled by another process');
    return { reconciled: false, changed: [], removed: [] };
  }
  try {
    const existing = new Map((await deps.queue.scheduledTicks()).map((s) => [s.name, s]));
    const changed: string[] = [];
    for (const schedule of deps.schedules) {
      const current = existing.get(schedule.name);
      if (current?.pattern === schedule.cron && current.tz === schedule.timezone && current.next !== null)
        continue;
      await deps.queue.upsertSchedule(schedule);
      changed.push(schedule.name);
    }
    const wanted = new Set(deps.schedules.map((s) => s.name));
    const removed = [...existing.keys()].filter((name) => !wanted.has(name));
    for (const name of removed) {
      await deps.queue.removeSchedule(name);
      await deps.store.remove(name);
    }
    deps.log.info(
      { schedules: deps.schedules.length, changed, removed },
      'schedules reconciled with patchbay.yml',
    );
    return { reconciled: true, changed, removed };
  } finally {
    await lease.release();
  }
}
