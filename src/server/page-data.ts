import type { FileConfig } from '../config/file-schema.js';
import type { TaskDiffs, TaskIndex, TaskStore, TaskTimeline } from '../domain/ports.js';
import type { TaskRecord } from '../domain/task.js';
import type { DashboardStats as StoredStats } from './dashboard-stats.js';
import type { PageDeps } from './pages/page-deps.js';
import type { DashboardStats } from './pages/view-models.js';
import type { Viewer } from './viewer.js';

/** How many waiting tasks the dashboard counts before it says "100+". */
const WAITING_COUNT_CAP = 100;

/**
 * The pages' data from Patchbay's stores: records, their timeline and diff, the task index, and the
 * dashboard's numbers. A person who is not the operator sees the numbers of the repositories they
 * may see (spend), and not the failure reasons, whose messages may speak of any repository.
 */
export function createPageData(deps: {
  store: Pick<TaskStore, 'get'>;
  index: TaskIndex;
  timeline: Pick<TaskTimeline, 'read'>;
  diffs: Pick<TaskDiffs, 'get'>;
  stats: () => Promise<StoredStats>;
  /** The allowlist's names, as written in patchbay.yml. */
  repositories: string[];
  budget: FileConfig['budget'];
}): Omit<PageDeps, 'viewerOf'> {
  const records = async (ids: string[]): Promise<TaskRecord[]> =>
    (await Promise.all(ids.map((id) => deps.store.get(id)))).filter((t): t is TaskRecord => t !== null);
  const visibleOf = (viewer: Viewer) =>
    viewer.operator ? undefined : (repo: string) => viewer.mayAccess(repo);

  return {
    getTask: (id) => deps.store.get(id),
    timeline: deps.timeline,
    diffs: deps.diffs,
    async conversationTasks(conversation) {
      return records((await deps.index.ofConversation(conversation)).map((t) => t.id));
    },
    async retryLinks(taskId) {
      const task = await deps.store.get(taskId);
      return { retryOf: task?.retryOf, retriedBy: task?.retriedBy };
    },
    async listTasks(query, viewer) {
      const page = await deps.index.list(query.filters, {
        cursor: query.cursor,
        limit: query.limit,
        visible: visibleOf(viewer),
      });
      return { tasks: await records(page.tasks.map((t) => t.id)), nextCursor: page.next };
    },
    async dashboardStats(viewer) {
      const [stored, waiting] = await Promise.all([
        deps.stats(),
        deps.index.list(
          { status: 'waiting_for_input' },
          { limit: WAITING_COUNT_CAP, visible: visibleOf(viewer) },
        ),
      ]);
      const visible = new Set<string>();
      for (const repo of deps.repositories) if (await viewer.mayAccess(repo)) visible.add(repo.toLowerCase());
      return toPageStats(stored, waiting.tasks.length, viewer.operator ? undefined : visible);
    },
    async repositories(viewer) {
      const shown: string[] = [];
      for (const repo of deps.repositories) if (await viewer.mayAccess(repo)) shown.push(repo);
      return shown;
    },
    budgetOf: () => ({ steps: deps.budget.steps, minutes: deps.budget.minutes, usd: deps.budget.usd }),
  };
}

/** The stored numbers as the dashboard shows them, spend narrowed to `visible` repositories when given. */
export function toPageStats(
  stats: StoredStats,
  waitingForInput: number,
  visible: ReadonlySet<string> | undefined,
): DashboardStats {
  const shown = (repo: string) => !visible || visible.has(repo.toLowerCase());
  const days = stats.spend.days;
  return {
    running: stats.tasks.running,
    queued: stats.tasks.queued,
    waitingForInput,
    workersAlive: stats.workers.alive,
    queueWait: {
      medianMs: stats.queueWait.medianSeconds === null ? null : stats.queueWait.medianSeconds * 1_000,
      p90Ms: stats.queueWait.p90Seconds === null ? null : stats.queueWait.p90Seconds * 1_000,
    },
    spend: {
      days: days.length,
      today: days.at(-1)?.day ?? stats.at.slice(0, 10),
      points: days.flatMap((d) =>
        Object.entries(d.byRepository)
          .filter(([repo]) => shown(repo))
          .map(([repo, usd]) => ({ day: d.day, repo, usd })),
      ),
    },
    failures: visible
      ? []
      : stats.failures.reasons.map((r) => ({ code: r.code, count: r.count, message: r.message })),
  };
}
