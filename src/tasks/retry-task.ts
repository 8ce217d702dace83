import { PatchbayError } from '../domain/errors.js';
import { newTaskRecord } from '../domain/task.js';
import { newTaskId } from '../lib/ids.js';
import { queueNew, type SubmitDeps, type Submitted } from './submit-task.js';

/**
 * Retry from a task's page: a new task in the same conversation with the same request and a fresh
 * budget, heard where the first one was, linked both ways (`retryOf`, `retriedBy`). Only a failed or
 * cancelled task is retried, once: asking again answers the retry already made.
 */
export async function retryTask(deps: SubmitDeps, taskId: string): Promise<Submitted> {
  const first = await deps.store.get(taskId);
  if (!first) throw new PatchbayError('task_not_found', `no task ${taskId}`);
  if (first.status !== 'failed' && first.status !== 'cancelled') {
    throw new PatchbayError(
      'invalid_request',
      `task ${taskId} is ${first.status}: only a failed or cancelled task is retried`,
    );
  }
  const id = newTaskId();
  const key = `retry:${taskId}`;
  const owner = await deps.idempotency.claim(key, id);
  if (owner !== id) {
    const existing = await deps.store.get(owner);
    if (existing) return { task: existing, kind: 'duplicate' };
    throw new PatchbayError('internal', 'this task is being retried right now', { permanent: false });
  }
  try {
    const { deliveryId: _first, ...request } = first.request;
    const task = { ...newTaskRecord(id, request), retryOf: first.id };
    const submitted = await queueNew(deps, task, await deps.store.audience(first.id));
    await deps.store.update(first.id, () => ({ retriedBy: id }));
    return submitted;
  } catch (err) {
    await deps.idempotency.release(key, id).catch(() => undefined);
    throw err;
  }
}
