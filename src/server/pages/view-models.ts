import type { TaskDiff } from '../../domain/ports.js';
import type { CheckResult, PullRequestRef, TaskStatus, Usage } from '../../domain/task.js';
import type { Origin, TaskSource } from '../../domain/task-request.js';
import type { StoredTimelineEntry, TimelineStage } from '../../domain/timeline.js';

/**
 * What the pages show, as plain data: the render functions turn these into HTML and do no I/O, so a
 * page can be tested (and benchmarked) from a literal. Every string here may come from the model, the
 * repository or a requester: the renderers escape all of it.
 */

/** A task's limits (patchbay.yml `budget`); `usd` is null when the model has no price. */
export interface TaskBudget {
  steps: number;
  minutes: number;
  usd: number | null;
}

export interface TaskError {
  code: string;
  message: string;
  hint?: string;
}

/** `GET /tasks/:id`. */
export interface TaskPageView {
  id: string;
  /** The PR title the agent chose, else the instruction's first line. */
  title: string;
  status: TaskStatus;
  /** The stage the task is in while it runs (from its timeline); null otherwise. */
  stage: TimelineStage | null;
  repo: string;
  base?: string;
  branch?: string;
  instruction: string;
  origin: Origin;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  steps: number;
  usage: Usage;
  budget: TaskBudget;
  /** The agent's summary: Markdown written by the model. */
  summary?: string;
  question?: string;
  error?: TaskError;
  pullRequest?: PullRequestRef;
  checks: CheckResult[];
  timeline: StoredTimelineEntry[];
  diff: TaskDiff | null;
  /** The conversation's tasks, this one included, oldest first. */
  conversation: ConversationTaskView[];
  /** The task this one retries, and the task that retried this one. */
  retryOf?: string;
  retriedBy?: string;
  /** Whether the viewer may stop or retry this task at all (write access to its repository). */
  mayAct: boolean;
  /** What the viewer may do now: Stop while queued, running or waiting, Retry once failed or cancelled. */
  actions: { stop: boolean; retry: boolean };
  /** Where the page's script follows the timeline (`text/event-stream`). */
  eventsUrl: string;
  viewer: ViewerView;
  /** When the page was made (ISO): elapsed times are counted to it. */
  now: string;
}

export interface ConversationTaskView {
  id: string;
  title: string;
  status: TaskStatus;
  createdAt: string;
  requester?: string;
  /** The task's question, when it asked one; the answer, when it got one. */
  question?: string;
  answer?: string;
  retryOf?: string;
}

export interface ViewerView {
  name: string;
  operator: boolean;
  /** The session's form token, for the sign-out form (a bearer viewer has none, and no cookie to end). */
  csrf?: string;
}

/** The dashboard's filters, as `GET /tasks` takes them in its query. */
export interface TaskFilters {
  status?: TaskStatus;
  repo?: string;
  source?: TaskSource;
  requester?: string;
}

/** One row of the dashboard's list. */
export interface TaskListItem {
  id: string;
  title: string;
  status: TaskStatus;
  repo: string;
  source: TaskSource;
  requester?: string;
  createdAt: string;
  finishedAt?: string;
  steps: number;
  usd: number | null;
  pullRequest?: PullRequestRef;
  errorCode?: string;
}

/** Spend of one repository on one day (UTC). */
export interface SpendPoint {
  /** `YYYY-MM-DD`. */
  day: string;
  repo: string;
  usd: number;
}

/** A failure reason that came back, by error code, over the period the stats cover. */
export interface FailureReason {
  code: string;
  count: number;
  /** The failure's message (the newest one's, when they differ). */
  message: string;
  /** The newest failed task of this reason and when it failed, when known. */
  lastTaskId?: string;
  lastAt?: string;
}

/** What the dashboard shows of the whole installation (the viewer's repositories only). */
export interface DashboardStats {
  running: number;
  queued: number;
  waitingForInput: number;
  /** Worker processes with a fresh heartbeat. */
  workersAlive: number;
  /** Median and 90th percentile of the time from queued to started of recently started tasks. */
  queueWait: { medianMs: number | null; p90Ms: number | null };
  /** Spend per day and repository over the last `days` days, newest day `today`. */
  spend: { days: number; today: string; points: SpendPoint[] };
  /** Most frequent first. */
  failures: FailureReason[];
}

/** `GET /tasks`. */
export interface DashboardView {
  filters: TaskFilters;
  /** Repositories to offer in the filter (the viewer's). */
  repositories: string[];
  tasks: TaskListItem[];
  /** Set when the list goes on: the link to the next (older) page. */
  nextCursor?: string;
  /** Set when this is not the first page. */
  cursor?: string;
  stats: DashboardStats;
  viewer: ViewerView;
  now: string;
}
