import { PatchbayError } from '../domain/errors.js';
import type { CancelBus, ConversationStore, TaskQueue, TaskStore } from '../domain/ports.js';
import { FINAL_STATUSES, type TaskRecord } from '../domain/task.js';

/**
 * Stops a task wherever it is: a queued or waiting task is cancelled here and now; a running one is
 * signalled through the bus and its worker records `cancelled` within moments.
 */
export async function cancelTask(
  deps: { store: TaskStore; conversations: ConversationStore; queue: TaskQueue; cancels: CancelBus },
  taskId: string,
): Promise<TaskRecord> {
  const task = await deps.store.get(taskId);
  if (!task) throw new PatchbayError('task_not_found', `no task ${taskId}`);
  if (FINAL_STATUSES.has(task.status)) return task;
  await deps.cancels.request(taskId);
  if (task.status === 'running') return task;
  if (task.status === 'queued') await deps.queue.withdraw(taskId, task.runs);
  await deps.conversations.clearWaiting(task.conversation, taskId);
  return deps.store.update(taskId, (t) =>
    t.status === 'queued' || t.status === 'waiting_for_input'
      ? {
          status: 'cancelled',
          error: { code: 'cancelled', message: 'cancelled on request' },
          question: undefined,
          finishedAt: new Date().toISOString(),
        }
      : {},
  );
}
