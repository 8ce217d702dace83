import { type TaskRecord, TaskStatus } from '../../domain/task.js';
import { TaskSource } from '../../domain/task-request.js';
import { taskTitle } from './to-task-page-view.js';
import type { TaskFilters, TaskListItem } from './view-models.js';

const MAX_PARAM = 200;

/**
 * The dashboard's filters and cursor from a query string (`?status=failed&repo=acme/web&cursor=…`).
 * A value that is not one of the known ones is left out rather than refused: a stale bookmark still
 * opens the list.
 */
export function parseTaskQuery(query: URLSearchParams): { filters: TaskFilters; cursor?: string } {
  const text = (name: string) => {
    const value = query.get(name)?.trim();
    return value && value.length <= MAX_PARAM ? value : undefined;
  };
  const status = TaskStatus.safeParse(text('status'));
  const source = TaskSource.safeParse(text('source'));
  const repo = text('repo');
  const requester = text('requester');
  const cursor = text('cursor');
  return {
    filters: {
      ...(status.success ? { status: status.data } : {}),
      ...(repo ? { repo } : {}),
      ...(source.success ? { source: source.data } : {}),
      ...(requester ? { requester } : {}),
    },
    ...(cursor ? { cursor } : {}),
  };
}

/** One row of the dashboard's list. */
export function toTaskListItem(task: TaskRecord): TaskListItem {
  const origin = task.request.origin;
  return {
    id: task.id,
    title: taskTitle(task),
    status: task.status,
    repo: task.request.repo,
    source: origin.source,
    ...(origin.requester ? { requester: origin.requester } : {}),
    createdAt: task.createdAt,
    ...(task.finishedAt ? { finishedAt: task.finishedAt } : {}),
    steps: task.steps,
    usd: task.usage.usd,
    ...(task.pullRequest ? { pullRequest: task.pullRequest } : {}),
    ...(task.error ? { errorCode: task.error.code } : {}),
  };
}
