import type { TaskDiffs, TaskTimeline } from '../../domain/ports.js';
import type { TaskRecord } from '../../domain/task.js';
import type { Clock } from '../../lib/clock.js';
import type { Viewer, ViewerOf } from '../viewer.js';
import type { DashboardStats, TaskBudget, TaskFilters } from './view-models.js';

export interface TaskListQuery {
  filters: TaskFilters;
  /** From the previous page's `nextCursor`; absent for the newest tasks. */
  cursor?: string;
  limit: number;
}

export interface TaskListPage {
  /** Newest first. */
  tasks: TaskRecord[];
  /** Set when older tasks follow. */
  nextCursor?: string;
}

/**
 * What the pages read, as interfaces: Redis-backed in Patchbay, in memory in the tests. Everything
 * that lists tasks gets the viewer and returns only the tasks of repositories the viewer may see.
 */
export interface PageDeps {
  /** Who is looking; null when signed out (the page then sends them to sign in). */
  viewerOf: ViewerOf;
  getTask(id: string): Promise<TaskRecord | null>;
  timeline: Pick<TaskTimeline, 'read'>;
  diffs: Pick<TaskDiffs, 'get'>;
  /** The tasks of a conversation, the given one included, in any order. */
  conversationTasks(conversation: string): Promise<TaskRecord[]>;
  /** The task `taskId` retries, and the task that retried it. */
  retryLinks(taskId: string): Promise<{ retryOf?: string; retriedBy?: string }>;
  listTasks(query: TaskListQuery, viewer: Viewer): Promise<TaskListPage>;
  dashboardStats(viewer: Viewer): Promise<DashboardStats>;
  /** The repositories the dashboard offers as a filter. */
  repositories(viewer: Viewer): Promise<string[]>;
  /** The limits a task runs under (patchbay.yml `budget`). */
  budgetOf(task: TaskRecord): TaskBudget;
  /** Where a signed-out reader goes; `returnTo` is the page's own path. Default `/login?next=…`. */
  signInPath?: (returnTo: string) => string;
  clock?: Clock;
  /** Where the stylesheet and scripts are read from (tests); `assets/` beside the pages' modules. */
  assetsDir?: URL;
}
