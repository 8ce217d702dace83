import { PatchbayError, toPatchbayError } from '../domain/errors.js';
import type { Reporter } from '../domain/events.js';
import type { ConversationStore, TaskStore } from '../domain/ports.js';
import { FINAL_STATUSES } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import type { AttemptOutcome } from './attempt-outcome.js';
import { recordOutcome } from './record-outcome.js';
import type { TimelineWriter } from './timeline-writer.js';

export interface AttemptContext {
  taskId: string;
  signal: AbortSignal;
  lastAttempt: boolean;
}

export interface AttemptDeps {
  store: TaskStore;
  conversations: ConversationStore;
  reporter: Reporter;
  /** Hears how an attempt that goes back to the queue ended; flushed when the attempt ends. */
  timeline: Pick<TimelineWriter, 'attemptEnded' | 'flush'>;
  log: Logger;
  /** Removes secrets from error text before it is stored, logged or told (an endpoint may echo a key). */
  redact?: (text: string) => string;
}

/**
 * Runs one attempt and records its outcome, telling the requester exactly once: success and a question
 * through recordOutcome; a cancel becomes `cancelled`; an interruption (shutdown, lost lease) goes back
 * to `queued` for another worker; a permanent error or the last transient one becomes `failed`; an
 * earlier transient one stays `queued` for BullMQ's retry with backoff. Rethrows failures so that the
 * queue can act on them.
 */
export async function handleAttempt(
  deps: AttemptDeps,
  ctx: AttemptContext,
  attempt: () => Promise<AttemptOutcome>,
): Promise<void> {
  try {
    await recordOutcome(deps, await attempt(), ctx.signal);
  } catch (err) {
    await recordFailure(deps, ctx, err);
  } finally {
    // What the attempt wrote in the background is written before the job is let go (bounded).
    await deps.timeline.flush(ctx.taskId);
  }
}

async function recordFailure(deps: AttemptDeps, ctx: AttemptContext, err: unknown): Promise<never> {
  const cause = ctx.signal.aborted ? String(ctx.signal.reason) : undefined;
  const log = deps.log.child({ taskId: ctx.taskId });
  if (cause === 'shutdown' || cause === 'lock_lost') {
    const message = `interrupted (${cause})`;
    const task = await deps.store.update(ctx.taskId, () => ({ status: 'queued' })).catch(() => undefined);
    if (task) deps.timeline.attemptEnded(task, 'interrupted', { code: 'interrupted', message });
    throw new PatchbayError('interrupted', message, { cause: err });
  }
  const error =
    cause === 'cancelled'
      ? new PatchbayError('cancelled', 'cancelled on request', { hint: 'ask again to start over' })
      : toPatchbayError(err);
  const redact = deps.redact ?? ((text: string) => text);
  const message = redact(error.message);
  const hint = error.hint === undefined ? undefined : redact(error.hint);
  if (!error.permanent && !ctx.lastAttempt) {
    log.warn({ code: error.code, err: message }, 'attempt failed; will retry');
    const task = await deps.store.update(ctx.taskId, () => ({ status: 'queued' })).catch(() => undefined);
    if (task) deps.timeline.attemptEnded(task, 'retrying', { code: error.code, message, hint });
    throw new PatchbayError(error.code, message, { permanent: false });
  }
  const task = await deps.store.update(ctx.taskId, () => ({
    status: error.code === 'cancelled' ? 'cancelled' : 'failed',
    error: { code: error.code, message, hint },
    question: undefined,
    answer: undefined,
    finishedAt: new Date().toISOString(),
  }));
  await deps.conversations.clearWaiting(task.conversation, task.id);
  log.warn({ code: error.code, err: message }, 'task failed');
  await deps.reporter.report({
    type: 'failed',
    task,
    code: error.code,
    message,
    hint,
    resources: task.resources,
  });
  // A cancel is an end, not a failure of the job: nothing to retry.
  if (error.code === 'cancelled') return undefined as never;
  throw new PatchbayError(error.code, message, { permanent: true });
}

/** Fails a task whose job BullMQ gave up on, unless its attempt already recorded an end. */
export async function recordGiveUp(
  deps: { store: TaskStore; reporter: Reporter },
  taskId: string,
  err: Error,
): Promise<void> {
  const current = await deps.store.get(taskId);
  if (!current || FINAL_STATUSES.has(current.status)) return;
  const task = await deps.store.update(taskId, () => ({
    status: 'failed',
    error: { code: 'internal', message: err.message },
    finishedAt: new Date().toISOString(),
  }));
  await deps.reporter.report({ type: 'failed', task, code: 'internal', message: err.message });
}
