import { TaskStatus, type TaskSummary } from '../../domain/task.js';
import { TaskSource } from '../../domain/task-request.js';
import { firstLine } from './format.js';
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

/** One row of the dashboard's list, from what the task index keeps of a task. */
export function toTaskListItem(task: TaskSummary): TaskListItem {
  const source = TaskSource.safeParse(task.source);
  return {
    id: task.id,
    title: task.title ?? firstLine(task.headline, 90),
    status: task.status,
    repo: task.repo,
    source: source.success ? source.data : 'api',
    ...(task.requester ? { requester: task.requester } : {}),
    createdAt: task.createdAt,
    ...(task.finishedAt ? { finishedAt: task.finishedAt } : {}),
    steps: task.steps,
    usd: task.usd,
    ...(task.pullRequest ? { pullRequest: task.pullRequest } : {}),
    ...(task.error ? { errorCode: task.error.code } : {}),
  };
}
