import { DelayedError, type Job, Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { isPermanent } from '../domain/errors.js';
import type { Logger } from '../lib/logger.js';
import type { ConversationLock } from './conversation-lock.js';
import type { RedisCancelBus } from './redis-cancel-bus.js';
import { TASK_QUEUE, type TaskJobData } from './task-queue.js';

/** Why a running task's signal fired: a person cancelled, the process stops, or the lease was lost. */
export type AbortCause = 'cancelled' | 'shutdown' | 'lock_lost';

export interface TaskAttempt {
  taskId: string;
  run: number;
  /** Aborted with an AbortCause as its reason. */
  signal: AbortSignal;
  /** No retry follows this attempt if it fails transiently: the task must be failed for good now. */
  lastAttempt: boolean;
}

/** Handles one attempt; throws PatchbayError (permanent or transient) on failure. */
export type AttemptHandler = (attempt: TaskAttempt) => Promise<void>;

const WAIT_FOR_CONVERSATION_MS = 2_000;

/**
 * The consumer side. It owns retries and the conversation lock; what a task does is `handle`'s business.
 * An attempt interrupted by shutdown or a lost lease goes back to the queue without counting as a
 * failure; a job whose worker died is recovered by BullMQ's stalled-job check on another worker.
 */
export function createTaskWorker(deps: {
  connection: Redis;
  name?: string;
  concurrency: number;
  lockMs: number;
  locks: ConversationLock;
  cancels: RedisCancelBus;
  handle: AttemptHandler;
  /** A job failed for good for a reason `handle` never saw (Redis trouble around it): record it. */
  onGiveUp: (taskId: string, err: Error) => Promise<void>;
  log: Logger;
}) {
  const { locks, cancels, log } = deps;
  const active = new Map<string, AbortController>();
  let stopping = false;

  async function wakeWaiters(conversation: string): Promise<void> {
    for (const jobId of await locks.takeWaiters(conversation)) {
      const job = await queue.getJob(jobId);
      await job?.promote().catch(() => undefined); // not delayed any more: fine
    }
  }

  async function processJob(job: Job<TaskJobData>, token?: string): Promise<void> {
    const { taskId, conversation, run } = job.data;
    const jobId = job.id ?? taskId;
    const lease = await locks.acquire(conversation, jobId);
    if (!lease) {
      await locks.addWaiter(conversation, jobId);
      await job.moveToDelayed(Date.now() + WAIT_FOR_CONVERSATION_MS, token);
      throw new DelayedError();
    }
    const controller = new AbortController();
    active.set(jobId, controller);
    let unwatch: () => void = () => undefined;
    try {
      lease.lost.addEventListener('abort', () => controller.abort('lock_lost' satisfies AbortCause));
      unwatch = await cancels.watch(taskId, () => controller.abort('cancelled' satisfies AbortCause));
      if (stopping) controller.abort('shutdown' satisfies AbortCause);
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      await deps.handle({ taskId, run, signal: controller.signal, lastAttempt });
    } catch (err) {
      await rethrow(err, job, controller.signal, token);
    } finally {
      unwatch();
      active.delete(jobId);
      await lease.release();
      await wakeWaiters(conversation).catch((e) =>
        log.warn({ err: e.message }, 'could not wake waiting jobs'),
      );
    }
  }

  async function rethrow(
    err: unknown,
    job: Job<TaskJobData>,
    signal: AbortSignal,
    token?: string,
  ): Promise<never> {
    const cause = signal.aborted ? (signal.reason as AbortCause) : undefined;
    if (cause === 'shutdown' || cause === 'lock_lost') {
      log.info({ taskId: job.data.taskId, cause }, 'task interrupted, back to the queue');
      await job.moveToWait(token).catch(() => undefined); // lock already gone: the stalled check requeues it
      throw new WaitingError();
    }
    if (isPermanent(err)) throw new UnrecoverableError((err as Error).message);
    throw err;
  }

  const queue = new Queue<TaskJobData>(deps.name ?? TASK_QUEUE, { connection: deps.connection });
  const worker = new Worker<TaskJobData>(deps.name ?? TASK_QUEUE, processJob, {
    connection: deps.connection,
    concurrency: deps.concurrency,
    lockDuration: deps.lockMs,
    stalledInterval: Math.max(1000, Math.floor(deps.lockMs / 2)),
    // A worker that dies is never a reason to fail a task for good; budgets bound a task that keeps
    // killing its workers.
    maxStalledCount: 1_000,
    autorun: false,
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    log.warn({ taskId: job.data.taskId, err: err.message }, 'task attempt failed');
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (final) void deps.onGiveUp(job.data.taskId, err).catch(() => undefined);
  });
  worker.on('error', (err) => log.error({ err: err.message }, 'worker error'));

  return {
    worker,
    start(): void {
      void worker.run();
    },
    /** Stops taking work, interrupts running tasks (they go back to the queue) and waits for them. */
    async stop(graceMs = 6_500): Promise<void> {
      stopping = true;
      const closing = worker.close();
      for (const controller of active.values()) controller.abort('shutdown' satisfies AbortCause);
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([closing.then(() => 'closed' as const), timeout])) === 'timeout') {
        log.warn({ running: active.size }, 'tasks did not stop in time; closing anyway');
        await worker.close(true);
      }
      await queue.close();
    },
  };
}
export type TaskWorker = ReturnType<typeof createTaskWorker>;
