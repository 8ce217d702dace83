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
  await deps.conversations.clearWaiting(task.conversation, taskId);
  let cancelledHere = false;
  let wasQueued = false;
  const error = { code: 'cancelled', message: 'cancelled on request' };
  const after = await deps.store.update(taskId, (t) => {
    wasQueued = t.status === 'queued';
    cancelledHere = wasQueued || t.status === 'waiting_for_input';
    return cancelledHere
      ? { status: 'cancelled', error, question: undefined, finishedAt: new Date().toISOString() }
      : {};
  });
  // After the record says cancelled: a job queued after this look is withdrawn by its submitter, who
  // looks at the record once its job is in (see queueNew), so no job of a cancelled task is left.
  if (wasQueued) await deps.queue.withdraw(taskId, after.runs);
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
