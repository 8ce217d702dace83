import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { shortHash } from '../lib/ids.js';

/** A tick of a schedule: `tick` is the time it was due (ms since the epoch). */
export interface ScheduleTickJob {
  schedule: string;
  /** Set for `patchbay schedules run`; a scheduler's tick takes its time from its job id. */
  tick?: number;
  manual?: boolean;
}

/** An integration's alarm: its `wake` gets `data` once the time comes. */
export interface AlarmJob {
  integration: string;
  data: unknown;
}

export type AutomationJob = ScheduleTickJob | AlarmJob;

/** A schedule as BullMQ keeps its job scheduler: its pattern and when the next tick is due. */
export interface ScheduledTick {
  name: string;
  pattern?: string;
  tz?: string;
  /** ms since the epoch; null when BullMQ has no next tick for it. */
  next: number | null;
}

const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 7 * 86_400, count: 1_000 },
  removeOnFail: { age: 14 * 86_400, count: 1_000 },
} as const;

/**
 * The automations' queue, beside the tasks' one: schedule ticks (a BullMQ job scheduler per schedule,
 * keyed by its name, so that each tick is one job however many processes run) and integrations'
 * alarms (a delayed job per key: setting the same alarm twice sets it once).
 */
export function createAutomationQueue({ connection, name }: { connection: Redis; name: string }) {
  const queue = new Queue<AutomationJob>(name, { connection });

  return {
    queue,
    /** Creates or changes the job scheduler of a schedule; its next tick follows the new pattern. */
    async upsertSchedule(schedule: { name: string; cron: string; timezone: string }): Promise<void> {
      await queue.upsertJobScheduler(
        schedule.name,
        { pattern: schedule.cron, tz: schedule.timezone },
        { name: 'schedule', data: { schedule: schedule.name }, opts: JOB_OPTIONS },
      );
    },
    async removeSchedule(scheduleName: string): Promise<void> {
      await queue.removeJobScheduler(scheduleName);
    },
    async scheduledTicks(): Promise<ScheduledTick[]> {
      const schedulers = await queue.getJobSchedulers(0, -1, true);
      return schedulers.map((s) => ({
        name: s.key,
        pattern: s.pattern ?? undefined,
        tz: s.tz ?? undefined,
        next: typeof s.next === 'number' ? s.next : null,
      }));
    },
    /** A tick now, outside the schedule (`patchbay schedules run`). */
    async runNow(scheduleName: string, at: number): Promise<void> {
      const data: ScheduleTickJob = { schedule: scheduleName, tick: at, manual: true };
      await queue.add('schedule', data, { ...JOB_OPTIONS, jobId: `manual.${scheduleName}.${at}` });
    },
    /**
     * Wakes `integration` with `data` at `at` (ms since the epoch, counted from `now`); an alarm whose
     * key was set before is not set again.
     */
    async setAlarm(integration: string, key: string, at: number, data: unknown, now: number): Promise<void> {
      const job: AlarmJob = { integration, data };
      const jobId = `alarm.${integration}.${shortHash(key, 24)}`;
      await queue.add('alarm', job, { ...JOB_OPTIONS, jobId, delay: Math.max(0, at - now) });
    },
    close: () => queue.close(),
  };
}
export type AutomationQueue = ReturnType<typeof createAutomationQueue>;

/** The tick a scheduler's job is for: its id is `repeat:<scheduler>:<ms>` (BullMQ's job-scheduler.js). */
export function tickOfJob(jobId: string | undefined, data: ScheduleTickJob): number | undefined {
  if (data.tick !== undefined) return data.tick;
  const ms = /^repeat:.+:(\d+)$/.exec(jobId ?? '')?.[1];
  return ms === undefined ? undefined : Number(ms);
}
