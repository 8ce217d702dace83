import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { isPermanent } from '../domain/errors.js';
import type { Logger } from '../lib/logger.js';
import { type AlarmJob, type AutomationJob, type ScheduleTickJob, tickOfJob } from './automation-queue.js';

export interface AutomationHandlers {
  /** A schedule's tick is due (`tick`: when, ms since the epoch). */
  tick(tick: { name: string; at: number; manual: boolean }): Promise<void>;
  /** An integration's alarm went off. */
  alarm(integration: string, data: unknown): Promise<void>;
}

/**
 * Takes the automations' jobs in a worker process: each job is taken by one process, so a tick
 * starts its run once however many processes run. A permanent failure is not retried.
 */
export function createAutomationWorker(deps: {
  connection: Redis;
  name: string;
  lockMs: number;
  handlers: AutomationHandlers;
  log: Logger;
}) {
  const { handlers, log } = deps;

  async function process(job: Job<AutomationJob>): Promise<void> {
    try {
      if (job.name === 'alarm') {
        const alarm = job.data as AlarmJob;
        await handlers.alarm(alarm.integration, alarm.data);
        return;
      }
      const data = job.data as ScheduleTickJob;
      const at = tickOfJob(job.id, data);
      if (at === undefined) throw new UnrecoverableError(`no tick time in job ${job.id}`);
      await handlers.tick({ name: data.schedule, at, manual: data.manual === true });
    } catch (err) {
      if (isPermanent(err)) throw new UnrecoverableError((err as Error).message);
      throw err;
    }
  }

  const worker = new Worker<AutomationJob>(deps.name, process, {
    connection: deps.connection,
    concurrency: 2,
    lockDuration: deps.lockMs,
    autorun: false,
  });
  worker.on('failed', (job, err) =>
    log.warn({ job: job?.id, kind: job?.name, err: err.message }, 'automation job failed'),
  );
  worker.on('error', (err) => log.error({ err: err.message }, 'automation worker error'));

  return {
    start(): void {
      void worker.run();
    },
    stop: () => worker.close(),
  };
}
