import type { IncomingMessage } from 'node:http';
import type { TaskRecord } from '../../src/domain/task.js';
import type { TaskRequest } from '../../src/domain/task-request.js';
import type { TimelineEntry } from '../../src/domain/timeline.js';
import type { Clock } from '../../src/lib/clock.js';
import type { PageDeps, TaskListQuery } from '../../src/server/pages/page-deps.js';
import type { DashboardStats, TaskBudget } from '../../src/server/pages/view-models.js';
import type { Viewer, ViewerOf } from '../../src/server/viewer.js';
import { createMemoryDiffs, createMemoryTimeline } from '../../src/tasks/memory-stores.js';

export const BUDGET: TaskBudget = { steps: 100, minutes: 30, usd: 3 };

/** A fixed moment, so that pages (and their screenshots) come out the same on every run. */
export const NOW = Date.parse('2026-05-14T15:00:00Z');

export const fixedClock: Clock = { now: () => NOW, setTimer: () => () => {} };

export function isoAgo(ms: number): string {
  return new Date(NOW - ms).toISOString();
}

/** A task record; `request` fields and the rest can be overridden. */
export function aTask(
  id: string,
  fields: Partial<Omit<TaskRecord, 'request'>> & { request?: Partial<TaskRequest> } = {},
): TaskRecord {
  const { request, ...rest } = fields;
  const createdAt = rest.createdAt ?? isoAgo(10 * 60_000);
  return {
    id,
    conversation: `api:${id}`,
    status: 'running',
    steps: 0,
    attempts: 1,
    runs: 1,
    usage: { promptTokens: 0, cachedTokens: 0, completionTokens: 0, usd: 0, agentMs: 0 },
    checks: [],
    createdAt,
    updatedAt: createdAt,
    ...rest,
    request: {
      repo: 'acme/web',
      instruction: 'Fix the login redirect',
      conversation: rest.conversation ?? `api:${id}`,
      origin: { source: 'api', label: 'HTTP API' },
      ...request,
    },
  };
}

/** A viewer who sees `repos` (every repository when absent). */
export function aViewer(name: string, repos?: readonly string[]): Viewer {
  return {
    name,
    operator: repos === undefined,
    via: 'session',
    mayAccess: async (repo) => repos === undefined || repos.includes(repo),
  };
}

export function emptyStats(): DashboardStats {
  return {
    running: 0,
    queued: 0,
    waitingForInput: 0,
    workersAlive: 1,
    queueWait: { medianMs: null, p90Ms: null },
    spend: { days: 30, today: new Date(NOW).toISOString().slice(0, 10), points: [] },
    failures: [],
  };
}

/**
 * The pages' data in memory: tasks, their timelines and diffs, retries and the dashboard's numbers,
 * behind the same interfaces Patchbay's Redis-backed stores implement.
 */
export function createPageData() {
  const tasks = new Map<string, TaskRecord>();
  const retries = new Map<string, string>();
  const timeline = createMemoryTimeline();
  const diffs = createMemoryDiffs();
  let stats = emptyStats();
  let repositories: string[] = ['acme/web'];

  function add(...records: TaskRecord[]): void {
    for (const record of records) tasks.set(record.id, record);
  }

  async function append(taskId: string, ...entries: TimelineEntry[]): Promise<void> {
    for (const entry of entries) await timeline.append(taskId, entry);
  }

  async function listTasks(query: TaskListQuery, viewer: Viewer) {
    const f = query.filters;
    const visible: TaskRecord[] = [];
    for (const task of tasks.values()) {
      if (!(await viewer.mayAccess(task.request.repo))) continue;
      if (f.status && task.status !== f.status) continue;
      if (f.repo && task.request.repo !== f.repo) continue;
      if (f.source && task.request.origin.source !== f.source) continue;
      if (f.requester && task.request.origin.requester !== f.requester) continue;
      visible.push(task);
    }
    const newestFirst = visible.sort(
      (a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id),
    );
    const start = query.cursor ? newestFirst.findIndex((t) => t.id === query.cursor) + 1 : 0;
    const page = newestFirst.slice(start, start + query.limit);
    const more = start + query.limit < newestFirst.length;
    return { tasks: page, ...(more && page.length > 0 ? { nextCursor: page.at(-1)?.id } : {}) };
  }

  /** The pages' deps; the viewer is whoever `viewerOf` says (everyone is `alice`, operator, by default). */
  function deps(viewerOf: ViewerOf = async () => aViewer('alice')): PageDeps {
    return {
      viewerOf,
      getTask: async (id) => structuredClone(tasks.get(id) ?? null),
      timeline,
      diffs,
      conversationTasks: async (conversation) =>
        [...tasks.values()].filter((t) => t.conversation === conversation),
      async retryLinks(taskId) {
        const retriedBy = [...retries.entries()].find(([, of]) => of === taskId)?.[0];
        const retryOf = retries.get(taskId);
        return { ...(retryOf ? { retryOf } : {}), ...(retriedBy ? { retriedBy } : {}) };
      },
      listTasks,
      dashboardStats: async () => stats,
      repositories: async () => repositories,
      budgetOf: () => BUDGET,
      clock: fixedClock,
    };
  }

  return {
    tasks,
    timeline,
    diffs,
    add,
    append,
    deps,
    /** Records that `newId` retries `oldId`. */
    retried(oldId: string, newId: string) {
      retries.set(newId, oldId);
    },
    setStats(next: DashboardStats) {
      stats = next;
    },
    setRepositories(next: string[]) {
      repositories = next;
    },
  };
}
export type PageData = ReturnType<typeof createPageData>;

/** Signs a request in as the `viewer` cookie says (tests only; sign-in proper is another part's). */
export function cookieViewer(viewers: Record<string, Viewer>): ViewerOf {
  return async (req: IncomingMessage) => {
    const match = /(?:^|;\s*)viewer=([^;]+)/.exec(req.headers.cookie ?? '');
    return (match?.[1] && viewers[match[1]]) || null;
  };
}
