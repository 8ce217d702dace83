import { PatchbayError } from '../domain/errors.js';
import type { Inbox, InboxHandler } from '../domain/inbox.js';
import { newTaskRecord, type TaskRecord } from '../domain/task.js';
import { TaskRequest } from '../domain/task-request.js';
import { newTaskId } from '../lib/ids.js';
import { checkRequest, type SubmitDeps, type Submitted, submitTask } from './submit-task.js';

/** The inbox entry kind of a request that is a whole TaskRequest already (the HTTP API's). */
export const TASK_ENTRY = 'task';

/**
 * The task as it will be, from its accepted record, before the consumer made it: `queued`, or
 * `failed` with the consumer's refusal. Null when nothing was accepted under that id.
 */
export async function acceptedTask(
  inbox: Pick<Inbox, 'accepted'>,
  taskId: string,
): Promise<TaskRecord | null> {
  const record = await inbox.accepted(taskId);
  if (!record || record.kind !== TASK_ENTRY) return null;
  const request = TaskRequest.safeParse(record.payload);
  if (!request.success) return null;
  const task = newTaskRecord(taskId, request.data);
  return record.refused ? { ...task, status: 'failed', error: record.refused } : task;
}

/**
 * Makes the task of an accepted request, idempotently by its task id: the delivery id it was
 * accepted under (or one of its own) is claimed as a direct submit would. A refusal (a permanent
 * error) is written to the accepted record, where the requester reads it; anything else is thrown,
 * so that the entry is handled again.
 */
export async function submitAccepted(
  deps: SubmitDeps & { inbox: Pick<Inbox, 'refuse'> },
  taskId: string,
  payload: unknown,
): Promise<Submitted | null> {
  const input = { deliveryId: `inbox:${taskId}`, ...(payload as object) };
  try {
    const submitted = await submitTask(deps, input, { id: taskId });
    // Its delivery made another task before the inbox knew of it (a request repeated across an upgrade).
    if (submitted.kind === 'duplicate' && submitted.task.id !== taskId) {
      const message = `the same request as task ${submitted.task.id}`;
      await deps.inbox.refuse(taskId, { code: 'duplicate', message });
    }
    return submitted;
  } catch (err) {
    if (!(err instanceof PatchbayError) || !err.permanent) throw err;
    await deps.inbox.refuse(taskId, { code: err.code, message: err.message });
    deps.log.info({ taskId, code: err.code }, 'accepted request refused');
    return null;
  }
}

/** The consumer's handler of `task` entries. */
export function createTaskEntryHandler(deps: SubmitDeps & { inbox: Pick<Inbox, 'refuse'> }): InboxHandler {
  return async (entry) => {
    await submitAccepted(deps, entry.taskId, entry.payload);
  };
}

/**
 * The HTTP API's answer: the checks that need only the configuration, then one round trip to the
 * inbox. The task is `queued` from here on (its accepted record says so until the consumer made it).
 */
export async function acceptTask(
  deps: Pick<SubmitDeps, 'config'> & {
    inbox: Pick<Inbox, 'accept'>;
    getTask(id: string): Promise<TaskRecord | null>;
  },
  input: unknown,
): Promise<Submitted> {
  const request = checkRequest(deps, input);
  const taskId = newTaskId();
  const accepted = await deps.inbox.accept({
    kind: TASK_ENTRY,
    taskId,
    deliveryId: request.deliveryId,
    payload: request,
  });
  if (!accepted.duplicate) return { task: newTaskRecord(taskId, request), kind: 'new' };
  const task = await deps.getTask(accepted.taskId);
  if (!task) {
    throw new PatchbayError('internal', 'the same request is being handled right now', { permanent: false });
  }
  return { task, kind: 'duplicate' };
}

const MADE_WAIT_MS = 5_000;

/**
 * Waits until the inbox's consumer has made the task of an accepted request, its job included
 * (milliseconds, when it runs), so that a cancel right after the 202 finds the job to withdraw;
 * nothing to wait for when there is no accepted record, or it was refused.
 */
export async function untilMade(
  inbox: { accepted(id: string): Promise<{ refused?: unknown; made?: boolean } | null> },
  id: string,
): Promise<void> {
  const until = Date.now() + MADE_WAIT_MS;
  for (;;) {
    const accepted = await inbox.accepted(id);
    if (!accepted || accepted.refused || accepted.made) return;
    if (Date.now() > until) {
      throw new PatchbayError('internal', `task ${id} was accepted and is not made yet`, {
        hint: 'try again in a moment',
        permanent: false,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
