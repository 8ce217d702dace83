import { type Config, findRepository } from '../config/load-config.js';
import { PatchbayError } from '../domain/errors.js';
import type { ConversationStore, IdempotencyStore, TaskQueue, TaskStore } from '../domain/ports.js';
import { emptyUsage, type TaskRecord } from '../domain/task.js';
import { TaskRequest } from '../domain/task-request.js';
import { newTaskId } from '../lib/ids.js';
import type { Logger } from '../lib/logger.js';

export interface SubmitDeps {
  config: Pick<Config, 'repositories'>;
  store: TaskStore;
  conversations: ConversationStore;
  idempotency: IdempotencyStore;
  queue: TaskQueue;
  log: Logger;
}

export interface Submitted {
  task: TaskRecord;
  /** `new`: a new task; `answer`: resumed the task waiting on a question; `duplicate`: a redelivery. */
  kind: 'new' | 'answer' | 'duplicate';
}

/**
 * Every trigger ends here. A repeated delivery answers its first task; the next message of a
 * conversation whose task waits on a question answers it; anything else is a new task on the
 * conversation's branch. Nothing is queued for a repository outside the allowlist.
 */
export async function submitTask(deps: SubmitDeps, input: unknown): Promise<Submitted> {
  const parsed = TaskRequest.safeParse(input);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw new PatchbayError('invalid_request', detail);
  }
  const request = parsed.data;
  checkAllowed(deps, request.repo);
  const conversation = await deps.conversations.get(request.conversation);
  if (conversation && conversation.repo.toLowerCase() !== request.repo.toLowerCase()) {
    throw new PatchbayError('invalid_request', `conversation ${request.conversation} works on ${conversation.repo}`, {
      hint: 'start a new conversation to work on another repository',
    });
  }
  const id = newTaskId();
  if (request.deliveryId) {
    const owner = await deps.idempotency.claim(request.deliveryId, id);
    const existing = owner === id ? null : await deps.store.get(owner);
    if (existing) return { task: existing, kind: 'duplicate' };
  }
  try {
    return await answerOrCreate(deps, request, id);
  } catch (err) {
    if (request.deliveryId) await deps.idempotency.release(request.deliveryId, id).catch(() => undefined);
    throw err;
  }
}

function checkAllowed(deps: SubmitDeps, repo: string): void {
  if (findRepository(deps.config, repo)) return;
  const allowed = [...deps.config.repositories.values()].map((r) => r.name).join(', ');
  throw new PatchbayError('repo_not_allowed', `${repo} is not a repository Patchbay may work on`, {
    hint: `use one of: ${allowed}`,
  });
}

async function answerOrCreate(deps: SubmitDeps, request: TaskRequest, id: string): Promise<Submitted> {
  const waitingId = await deps.conversations.takeWaiting(request.conversation);
  const waiting = waitingId ? await deps.store.get(waitingId) : null;
  if (waiting?.status === 'waiting_for_input') {
    const task = await deps.store.update(waiting.id, (t) => ({
      status: 'queued',
      answer: request.instruction,
      runs: t.runs + 1,
    }));
    await deps.queue.enqueue(task, task.runs);
    if (request.deliveryId) {
      await deps.idempotency.release(request.deliveryId, id);
      await deps.idempotency.claim(request.deliveryId, task.id);
    }
    deps.log.info({ taskId: task.id }, 'answer queued');
    return { task, kind: 'answer' };
  }
  const now = new Date().toISOString();
  const task: TaskRecord = {
    id,
    conversation: request.conversation,
    request,
    status: 'queued',
    steps: 0,
    attempts: 0,
    runs: 1,
    usage: emptyUsage(),
    checks: [],
    createdAt: now,
    updatedAt: now,
  };
  await deps.store.create(task);
  try {
    await deps.queue.enqueue(task, 1);
  } catch (err) {
    await deps.store.update(id, () => ({ status: 'failed', error: { code: 'internal', message: 'could not queue' } }));
    throw new PatchbayError('internal', 'the queue is unavailable', { cause: err, permanent: false });
  }
  deps.log.info({ taskId: id, conversation: request.conversation, repo: request.repo }, 'task queued');
  return { task, kind: 'new' };
}
