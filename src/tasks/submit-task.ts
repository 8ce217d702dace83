import { type Config, findRepository } from '../config/load-config.js';
import type { ConversationState } from '../domain/conversation.js';
import { PatchbayError } from '../domain/errors.js';
import type { ConversationStore, IdempotencyStore, TaskQueue, TaskStore } from '../domain/ports.js';
import { audienceOf, type ReplyAddress } from '../domain/reply-address.js';
import { takeFreshStart } from '../domain/request-options.js';
import { newTaskRecord, type TaskRecord } from '../domain/task.js';
import { TaskRequest } from '../domain/task-request.js';
import { newTaskId } from '../lib/ids.js';
import type { Logger } from '../lib/logger.js';
import { describeIssues } from '../lib/zod-issues.js';
import type { TimelineWriter } from './timeline-writer.js';

export interface SubmitDeps {
  config: Pick<Config, 'repositories' | 'models'>;
  store: TaskStore;
  conversations: ConversationStore;
  idempotency: IdempotencyStore;
  queue: TaskQueue;
  /** The task's timeline hears of each new task and each answer, before its job is queued. */
  timeline?: Pick<TimelineWriter, 'writeNow'>;
  log: Logger;
}

export interface Submitted {
  task: TaskRecord;
  /** `new`: a new task; `answer`: resumed the task waiting on a question; `duplicate`: a redelivery. */
  kind: 'new' | 'answer' | 'duplicate';
}

/**
 * The message answers the task's question: the same task is queued again, its transcript kept. An
 * answer given in another place than the question (a PR comment answering a Slack thread's question)
 * makes that place hear the rest of the run too.
 */
async function answer(
  deps: SubmitDeps,
  request: TaskRequest,
  id: string,
  waiting: TaskRecord,
): Promise<Submitted> {
  if (request.replyTo) await deps.store.join(waiting.id, request.replyTo);
  const task = await resumeWithAnswer(deps.store, waiting.id, request.instruction);
  await noteQueued(deps, task, 'answer', request);
  try {
    await deps.queue.enqueue(task, task.runs);
  } catch (err) {
    // Put the question back as it was: the requester's retry must find it waiting.
    await deps.store.update(waiting.id, () => ({
      status: 'waiting_for_input',
      answer: undefined,
      runs: waiting.runs,
    }));
    await deps.conversations.setWaiting(request.conversation, waiting.id);
    throw new PatchbayError('internal', 'the queue is unavailable', { cause: err, permanent: false });
  }
  if (request.deliveryId) await deps.idempotency.transfer(request.deliveryId, id, task.id);
  deps.log.info({ taskId: task.id }, 'answer queued');
  return { task, kind: 'answer' };
}

/** Puts a task that waits on its question back in the queue's hands with the answer: its next run. */
export function resumeWithAnswer(store: TaskStore, taskId: string, answerText: string): Promise<TaskRecord> {
  return store.update(taskId, (t) => ({ status: 'queued', answer: answerText, runs: t.runs + 1 }));
}

export interface SubmitOptions {
  /** The task's id, chosen when its request was accepted (the inbox): submitting again makes no second task. */
  id?: string;
  /**
   * A conversation's stored state (null: none) as the caller read it just before: taken for that
   * conversation instead of reading it again; for any other, or when absent, read here.
   */
  conversation?: { id: string; stored: ConversationState | null };
}

/**
 * Every trigger ends here. A repeated delivery answers its first task; the next message of a
 * conversation whose task waits on a question answers it; anything else is a new task on the
 * conversation's branch. Nothing is queued for a repository outside the allowlist.
 */
export async function submitTask(
  deps: SubmitDeps,
  input: unknown,
  opts: SubmitOptions = {},
): Promise<Submitted> {
  const request = checkRequest(deps, input);
  const conversation =
    opts.conversation?.id === request.conversation
      ? opts.conversation.stored
      : await deps.conversations.get(request.conversation);
  if (conversation && conversation.repo.toLowerCase() !== request.repo.toLowerCase()) {
    throw new PatchbayError(
      'invalid_request',
      `conversation ${request.conversation} works on ${conversation.repo}`,
      {
        hint: 'start a new conversation to work on another repository',
      },
    );
  }
  const id = opts.id ?? newTaskId();
  if (opts.id) {
    const made = await deps.store.get(opts.id);
    if (made) return { task: await requeue(deps, made), kind: 'duplicate' };
  }
  if (request.deliveryId) {
    const existing = await claimDelivery(deps, request.deliveryId, id);
    if (existing) return { task: existing, kind: 'duplicate' };
  }
  try {
    return await answerOrCreate(deps, request, id, conversation);
  } catch (err) {
    if (request.deliveryId) await deps.idempotency.release(request.deliveryId, id).catch(() => undefined);
    throw err;
  }
}

/**
 * The request as it will be queued, or the refusal that needs only the configuration: not a request,
 * a repository outside the allowlist, an unknown model.
 */
export function checkRequest(deps: Pick<SubmitDeps, 'config'>, input: unknown): TaskRequest {
  const parsed = TaskRequest.safeParse(input);
  if (!parsed.success) {
    const detail = describeIssues(parsed.error, { root: 'body' }).join('; ');
    throw new PatchbayError('invalid_request', detail);
  }
  const request = withFreshStart(parsed.data);
  checkAllowed(deps, request.repo);
  // An unknown model is refused where the request came from, with the list to choose from.
  deps.config.models.choose(request.model);
  return request;
}

const CLAIM_WAIT_MS = 3_000;

/**
 * Claims a delivery for `id`, or finds the task that owns it. A concurrent copy of the same delivery
 * may own the key before its record exists: wait for that record rather than start a second task;
 * if its owner gave up (released the key), the claim becomes ours.
 */
async function claimDelivery(deps: SubmitDeps, key: string, id: string): Promise<TaskRecord | null> {
  const until = Date.now() + CLAIM_WAIT_MS;
  for (;;) {
    const owner = await deps.idempotency.claim(key, id);
    if (owner === id) return null;
    const existing = await deps.store.get(owner);
    if (existing) return existing;
    if (Date.now() > until) {
      throw new PatchbayError('internal', 'the same delivery is being handled right now', {
        permanent: false,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A task whose id was chosen when its request was accepted exists already: its handling is being
 * repeated (a crash after the record was written). Its first job is queued again unless it ran: BullMQ
 * ignores a job id it holds, so this makes no second run.
 */
async function requeue(deps: SubmitDeps, task: TaskRecord): Promise<TaskRecord> {
  if (task.status !== 'queued' || task.runs !== 1 || task.attempts !== 0) return task;
  await deps.conversations.setLatest(task.conversation, task.id);
  await deps.queue.enqueue(task, 1);
  return task;
}

/** `fresh: …` at the start of the text asks for a fresh start, like `"fresh": true` in the API. */
function withFreshStart(request: TaskRequest): TaskRequest {
  if (request.fresh !== undefined) return request;
  const { fresh, text } = takeFreshStart(request.instruction);
  return fresh && text ? { ...request, fresh: true, instruction: text } : request;
}

function checkAllowed(deps: Pick<SubmitDeps, 'config'>, repo: string): void {
  if (findRepository(deps.config, repo)) return;
  const allowed = [...deps.config.repositories.values()].map((r) => r.name).join(', ');
  throw new PatchbayError('repo_not_allowed', `${repo} is not a repository Patchbay may work on`, {
    hint: `use one of: ${allowed}`,
  });
}

async function answerOrCreate(
  deps: SubmitDeps,
  request: TaskRequest,
  id: string,
  conversation: ConversationState | null,
): Promise<Submitted> {
  const waitingId = await deps.conversations.takeWaiting(request.conversation);
  const waiting = waitingId ? await deps.store.get(waitingId) : null;
  if (waiting?.status === 'waiting_for_input') return answer(deps, request, id, waiting);
  const task = newTaskRecord(id, request);
  return queueNew(deps, task, audienceOf(request.replyTo, conversation?.beganIn));
}

/** Stores a new task with its audience and queues its first run (a retry's too). */
export async function queueNew(
  deps: Pick<SubmitDeps, 'store' | 'conversations' | 'queue' | 'timeline' | 'log'>,
  task: TaskRecord,
  audience: ReplyAddress[],
): Promise<Submitted> {
  await deps.store.create(task, audience);
  await noteQueued(deps, task, task.retryOf ? 'retry' : 'new', task.request);
  try {
    await deps.conversations.setLatest(task.conversation, task.id);
    await deps.queue.enqueue(task, 1);
    // Cancelled between its record and its job: the cancel could not see the job, so it goes here.
    if ((await deps.store.get(task.id))?.status === 'cancelled') await deps.queue.withdraw(task.id, 1);
  } catch (err) {
    await deps.store.update(task.id, (t) =>
      t.status === 'cancelled'
        ? {}
        : {
            status: 'failed',
            error: { code: 'internal', message: 'could not queue' },
          },
    );
    throw new PatchbayError('internal', 'the queue is unavailable', { cause: err, permanent: false });
  }
  deps.log.info({ taskId: task.id, conversation: task.conversation, repo: task.request.repo }, 'task queued');
  return { task, kind: 'new' };
}

/** Written before the job is queued, so that it comes before anything a worker writes of this run. */
async function noteQueued(
  deps: Pick<SubmitDeps, 'timeline'>,
  task: TaskRecord,
  kind: 'new' | 'answer' | 'retry',
  request: TaskRequest,
): Promise<void> {
  await deps.timeline?.writeNow(task.id, {
    type: 'queued',
    at: new Date().toISOString(),
    run: task.runs,
    kind,
    source: request.origin.source,
    requester: request.origin.requester,
    text: request.instruction,
  });
}
