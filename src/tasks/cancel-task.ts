import { PatchbayError } from '../domain/errors.js';
import type { CancelBus, ConversationStore, TaskQueue, TaskStore } from '../domain/ports.js';
import { FINAL_STATUSES, type TaskRecord } from '../domain/task.js';
import { stampOf, type TimelineWriter } from './timeline-writer.js';

/**
 * Stops a task wherever it is: a queued or waiting task is cancelled here and now; a running one is
 * signalled through the bus and its worker records `cancelled` within moments.
 */
export async function cancelTask(
  deps: {
    store: TaskStore;
    conversations: ConversationStore;
    queue: TaskQueue;
    cancels: CancelBus;
    /** Hears a cancel done here (a queued or waiting task); a running task's worker writes its own. */
    timeline?: Pick<TimelineWriter, 'writeNow'>;
  },
  taskId: string,
): Promise<TaskRecord> {
  const task = await deps.store.get(taskId);
  if (!task) throw new PatchbayError('task_not_found', `no task ${taskId}`);
  if (FINAL_STATUSES.has(task.status)) return task;
  await deps.cancels.request(taskId);
  if (task.status === 'running') return task;
  if (task.status === 'queued') await deps.queue.withdraw(taskId, task.runs);
  await deps.conversations.clearWaiting(task.conversation, taskId);
  let cancelledHere = false;
  const error = { code: 'cancelled', message: 'cancelled on request' };
  const after = await deps.store.update(taskId, (t) => {
    cancelledHere = t.status === 'queued' || t.status === 'waiting_for_input';
    return cancelledHere
      ? { status: 'cancelled', error, question: undefined, finishedAt: new Date().toISOString() }
      : {};
  });
  if (cancelledHere) {
    await deps.timeline?.writeNow(taskId, {
      type: 'outcome',
      ...stampOf(after),
      status: 'cancelled',
      error,
      steps: after.steps,
      usage: after.usage,
    });
  }
  return after;
}
