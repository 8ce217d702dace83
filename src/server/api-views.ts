import type { TaskRecord, TaskSummary } from '../domain/task.js';

export const API_PREFIX = 'api:';

/** A conversation as the API's caller named it (`api:` is Patchbay's own namespace). */
export function callerConversation(conversation: string): string {
  return conversation.startsWith(API_PREFIX) ? conversation.slice(API_PREFIX.length) : conversation;
}

/** What the API shows of a task: no request text, no transcript. */
export function toTaskView(task: TaskRecord, pageUrl?: string) {
  return {
    id: task.id,
    pageUrl,
    conversation: callerConversation(task.conversation),
    status: task.status,
    steps: task.steps,
    attempts: task.attempts,
    repo: task.request.repo,
    origin: {
      source: task.request.origin.source,
      label: task.request.origin.label,
      automation: task.request.origin.automation,
    },
    branch: task.branch,
    summary: task.summary,
    pullRequest: task.pullRequest,
    question: task.question,
    error: task.error,
    checks: task.checks.map((c) => ({ command: c.command, exitCode: c.exitCode, timedOut: c.timedOut })),
    usage: task.usage,
    model: task.model ?? task.request.model,
    compactions: task.compactions ?? 0,
    retryOf: task.retryOf,
    retriedBy: task.retriedBy,
    createdAt: task.createdAt,
    finishedAt: task.finishedAt,
  };
}

/** A task in `GET /api/tasks`: its summary, with its page. */
export function toSummaryView(task: TaskSummary, pageUrl?: string) {
  return { ...task, conversation: callerConversation(task.conversation), pageUrl };
}
