import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoredTimelineEntry } from '../../domain/timeline.js';
import { systemClock } from '../../lib/clock.js';
import type { HttpServer } from '../http-server.js';
import type { Viewer } from '../viewer.js';
import { html } from './html.js';
import { loadPageAssets, type PageAssets } from './page-assets.js';
import type { PageDeps } from './page-deps.js';
import { renderDashboard } from './render-dashboard.js';
import { renderLayout } from './render-layout.js';
import { renderTaskPage } from './render-task-page.js';
import { parseTaskQuery, toTaskListItem } from './to-dashboard-view.js';
import { toTaskPageView } from './to-task-page-view.js';
import type { ViewerView } from './view-models.js';

/**
 * The policy every page is sent with: the pages' own scripts, styles and images only, no inline
 * script or style, no framing. Model and repository text on a page therefore cannot run even if
 * escaping ever failed.
 */
export const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const TASKS_PER_PAGE = 50;
const TIMELINE_PAGE = 1_000;
/** Far above what a task's byte-capped log holds; only a bound against a runaway store. */
const MAX_TIMELINE_ENTRIES = 50_000;

/**
 * `GET /` (→ `/tasks`), `GET /tasks` (the dashboard), `GET /tasks/:id` (a task's page) and
 * `GET /assets/:name`. Signed out, a page redirects to sign-in; a task the viewer may not see
 * answers 404, as one that does not exist does.
 */
export function registerPageRoutes(http: HttpServer, deps: PageDeps): void {
  const assets = loadPageAssets(deps.assetsDir);
  const clock = deps.clock ?? systemClock;
  const signInPath = deps.signInPath ?? ((returnTo) => `/login?next=${encodeURIComponent(returnTo)}`);

  /** The viewer, or null once the request was redirected to sign in. */
  async function viewerOrSignIn(req: IncomingMessage, res: ServerResponse): Promise<Viewer | null> {
    const viewer = await deps.viewerOf(req);
    if (!viewer) redirect(res, signInPath(req.url ?? '/tasks'));
    return viewer;
  }

  http.route('GET', '/', async (_req, res) => redirect(res, '/tasks'));

  http.route('GET', '/assets/:name', async (req, res, params) => {
    if (!assets.serve(params.name ?? '', req, res)) sendNotFound(res, assets, null);
  });

  http.route('GET', '/tasks', async (req, res) => {
    const viewer = await viewerOrSignIn(req, res);
    if (!viewer) return;
    const { filters, cursor } = parseTaskQuery(new URL(req.url ?? '/', 'http://patchbay').searchParams);
    const [page, stats, repositories] = await Promise.all([
      deps.listTasks({ filters, limit: TASKS_PER_PAGE, ...(cursor ? { cursor } : {}) }, viewer),
      deps.dashboardStats(viewer),
      deps.repositories(viewer),
    ]);
    const view = {
      filters,
      repositories,
      tasks: page.tasks.map(toTaskListItem),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      ...(cursor ? { cursor } : {}),
      stats,
      viewer: toViewerView(viewer),
      now: new Date(clock.now()).toISOString(),
    };
    sendPage(res, 200, renderDashboard(view, assets.urls));
  });

  http.route('GET', '/tasks/:id', async (req, res, params) => {
    const viewer = await viewerOrSignIn(req, res);
    if (!viewer) return;
    const task = await deps.getTask(params.id ?? '');
    if (!task || !(await viewer.mayAccess(task.request.repo))) {
      sendNotFound(res, assets, viewer);
      return;
    }
    const [timeline, diff, siblings, links] = await Promise.all([
      readWholeTimeline(deps, task.id),
      deps.diffs.get(task.id),
      deps.conversationTasks(task.conversation),
      deps.retryLinks(task.id),
    ]);
    const visible = siblings.filter((t) => t.request.repo === task.request.repo);
    const conversation = await Promise.all(
      visible.map(async (t) => ({ task: t, retryOf: (await deps.retryLinks(t.id)).retryOf })),
    );
    const view = toTaskPageView({
      task,
      timeline,
      diff,
      conversation,
      budget: deps.budgetOf(task),
      ...links,
      viewer: toViewerView(viewer),
      // Viewer.mayAccess is the one rule for both: who may see a task may stop or retry it.
      mayAct: true,
      now: new Date(clock.now()),
    });
    sendPage(res, 200, renderTaskPage(view, assets.urls));
  });
}

async function readWholeTimeline(deps: PageDeps, taskId: string): Promise<StoredTimelineEntry[]> {
  const entries: StoredTimelineEntry[] = [];
  while (entries.length < MAX_TIMELINE_ENTRIES) {
    const after = entries.at(-1)?.id;
    const page = await deps.timeline.read(taskId, { limit: TIMELINE_PAGE, ...(after ? { after } : {}) });
    entries.push(...page);
    if (page.length < TIMELINE_PAGE) break;
  }
  return entries;
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'cache-control': 'no-store' });
  res.end();
}

/** Pages hold a repository's code and a thread's text: never cached, never framed. */
export function sendPage(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': PAGE_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
  });
  res.end(body);
}

function sendNotFound(res: ServerResponse, assets: PageAssets, viewer: Viewer | null): void {
  const body = html`<div class="not-found"><h1>Not found</h1><p>There is no such page, or it is not yours to see.</p><p><a href="/tasks">All tasks</a></p></div>`;
  const page = renderLayout({
    title: 'Not found',
    body,
    viewer: viewer ? toViewerView(viewer) : null,
    assets: assets.urls,
  });
  sendPage(res, 404, page);
}

function toViewerView(viewer: Viewer): ViewerView {
  return {
    name: viewer.name,
    operator: viewer.operator,
    ...(viewer.csrfToken ? { csrf: viewer.csrfToken } : {}),
  };
}
