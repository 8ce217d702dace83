import { PatchbayError } from '../domain/errors.js';
import type { Reporter } from '../domain/events.js';
import type { ConversationStore, TaskStore } from '../domain/ports.js';
import type { TaskRecord } from '../domain/task.js';
import type { AttemptOutcome } from './attempt-outcome.js';

export interface RecordDeps {
  store: TaskStore;
  conversations: ConversationStore;
  reporter: Reporter;
}

/**
 * Records what an attempt achieved: the conversation's state (its branch and pull request), the
 * task's status, and the one report of it. Runs after the clone is disposed.
 */
export async function recordOutcome(
  deps: RecordDeps,
  outcome: AttemptOutcome,
  signal: AbortSignal,
): Promise<TaskRecord> {
  if (outcome.kind === 'over') return outcome.task;
  if (outcome.kind === 'waiting') return recordQuestion(deps, outcome, signal);
  await deps.conversations.put(outcome.conversation);
  const summary = outcome.changed
    ? outcome.summary
    : `${outcome.summary}\n\nNo files changed, so there is nothing to review and no pull request was opened.`;
  const task = await deps.store.update(outcome.task.id, () => ({
    status: 'succeeded',
    title: outcome.title,
    summary,
    checks: outcome.checks,
    pullRequest: outcome.pullRequest,
    question: undefined,
    answer: undefined,
    finishedAt: new Date().toISOString(),
  }));
  await deps.reporter.report({
    type: 'finished',
    task,
    pullRequest: task.pullRequest,
    summary,
    checks: outcome.checks,
    commit: outcome.commit,
    resources: task.resources,
  });
  return task;
}

async function recordQuestion(
  deps: RecordDeps,
  outcome: Extract<AttemptOutcome, { kind: 'waiting' }>,
  signal: AbortSignal,
): Promise<TaskRecord> {
  if (signal.aborted) throw new PatchbayError('cancelled', 'stopped while asking');
  await deps.conversations.put(outcome.conversation);
  const id = outcome.task.id;
  await deps.store.checkpointTranscript(id);
  const task = await deps.store.update(id, () => ({
    status: 'waiting_for_input',
    question: outcome.question,
    answer: undefined,
  }));
  await deps.conversations.setWaiting(task.conversation, task.id);
  await deps.reporter.report({ type: 'question', task, question: outcome.question });
  return task;
}
