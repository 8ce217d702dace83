import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TaskQueue } from '../domain/ports.js';

export const TASK_QUEUE = 'patchbay-tasks';

export interface TaskJobData {
  taskId: string;
  conversation: string;
  run: number;
}

/** BullMQ job ids may not contain `:`; task ids never do. */
export const toJobId = (taskId: string, run: number) => `${taskId}.${run}`;

export const JOB_OPTIONS = {
  attempts: 4,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 86_400 },
  removeOnFail: { age: 7 * 86_400 },
} as const;

/** The producer side: triggers hand tasks to the workers through it. */
export function createTaskQueue({
  connection,
  name = TASK_QUEUE,
  retry,
}: {
  connection: Redis;
  name?: string;
  /** Attempts per run and the first backoff delay; transient failures wait delay, 2×delay, … */
  retry?: { attempts: number; backoffMs: number };
}) {
  const queue = new Queue<TaskJobData>(name, { connection });
  const options = retry
    ? { ...JOB_OPTIONS, attempts: retry.attempts, backoff: { type: 'exponential', delay: retry.backoffMs } }
    : JOB_OPTIONS;
  const taskQueue: TaskQueue & { queue: Queue<TaskJobData>; close(): Promise<void> } = {
    queue,
    async enqueue(task, run) {
      const data: TaskJobData = { taskId: task.id, conversation: task.conversation, run };
      await queue.add('task', data, { ...options, jobId: toJobId(task.id, run) });
    },
    async withdraw(taskId, run) {
      const job = await queue.getJob(toJobId(taskId, run));
      if (!job) return false;
      try {
        await job.remove();
        return true;
      } catch {
        return false; // a worker holds it; the cancel flag stops it there
      }
    },
    close: () => queue.close(),
  };
  return taskQueue;
}
