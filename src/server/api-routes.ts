import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { TaskPageUrl } from '../config/task-page-links.js';
import { PatchbayError, toPatchbayError } from '../domain/errors.js';
import type { TaskDiffs, TaskIndex, TaskTimeline } from '../domain/ports.js';
import { type TaskRecord, TaskStatus } from '../domain/task.js';
import { RepoName } from '../domain/task-request.js';
import { newTaskId } from '../lib/ids.js';
import { describeIssues } from '../lib/zod-issues.js';
import type { Submitted } from '../tasks/submit-task.js';
import { API_PREFIX, toSummaryView, toTaskView } from './api-views.js';
import { checkCrossSite, refuseCrossSite } from './cross-site.js';
import { BodyTooLargeError, type HttpServer, readRawBody, sendJson } from './http-server.js';
import type { TaskServices } from './integration.js';
import { answerSignedOut } from './signed-out.js';
import { streamTimeline, wantsEventStream } from './task-event-stream.js';
import type { Viewer, ViewerOf } from './viewer.js';

const ApiTaskBody = z
  .object({
    repo: RepoName,
    instruction: z.string().trim().min(1, 'must not be empty').max(20_000),
    conversation: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" and "-" only, at most 100')
      .optional(),
    base: z.string().min(1).max(200).optional(),
    /** A model of `models:` by name (anything else is refused with the list). */
    model: z.string().trim().min(1).max(200).optional(),
    /** A follow-up that starts afresh instead of continuing the conversation's last run. */
    fresh: z.boolean().optional(),
  })
  .strict();

const ListQuery = z.object({
  status: TaskStatus.optional(),
  repo: z.string().max(200).optional(),
  source: z.string().max(20).optional(),
  requester: z.string().max(200).optional(),
  cursor: z.string().max(300).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

const STATUS_BY_CODE: Partial<Record<string, number>> = {
  invalid_request: 400,
  repo_not_allowed: 422,
  task_not_found: 404,
  internal: 503,
};

export interface ApiDeps extends Pick<TaskServices, 'submit' | 'cancel' | 'getTask'> {
  /** Off (404 for every route) when nobody could be let in: no operator token and no sign-in. */
  on: boolean;
  viewerOf: ViewerOf;
  /** `PATCHBAY_PUBLIC_URL`, for the cross-site check of cookie requests. */
  publicUrl: string | undefined;
  /** Links each task to its page (`pageUrl`); none without PATCHBAY_PUBLIC_URL. */
  pageUrl?: TaskPageUrl;
  retry(taskId: string): Promise<Submitted>;
  /**
   * A new conversation's task, accepted in one Redis round trip (the inbox's consumer makes it). A
   * follow-up in a named conversation is submitted as before: whether it answers a waiting task
   * depends on the conversation.
   */
  accept(input: unknown): Promise<Submitted>;
  index: TaskIndex;
  timeline: TaskTimeline;
  diffs: TaskDiffs;
  /** Ends every open event stream when the server stops. */
  stopping: AbortSignal;
}

type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: Record<string, string>,
  viewer: Viewer,
) => Promise<void>;

/**
 * The HTTP API, for the operator's bearer token or a signed-in person's cookie: `POST /api/tasks`,
 * `GET /api/tasks` (filters, cursor), `GET /api/tasks/:id`, its `events` (JSON, or
 * `text/event-stream`), its `diff` (`text/x-diff`), and `cancel` and `retry`. A person sees and acts
 * on the tasks of repositories they may write to; another task answers 404, as if it did not exist.
 * A state change by cookie must pass the cross-site check.
 */
export function registerApiRoutes(http: HttpServer, deps: ApiDeps): void {
  const guard =
    (handler: Handler, changes = false) =>
    async (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => {
      if (!deps.on) {
        sendJson(res, 404, {
          error: { code: 'api_off', message: 'the API is off: set PATCHBAY_API_TOKEN to turn it on' },
        });
        return;
      }
      const viewer = await deps.viewerOf(req);
      if (!viewer) return answerSignedOut(req, res, 'api');
      if (changes) {
        const check = checkCrossSite(req, { viewer, publicUrl: deps.publicUrl });
        if (!check.ok) return refuseCrossSite(res, check);
      }
      try {
        await handler(req, res, params, viewer);
      } catch (err) {
        sendError(res, err);
      }
    };

  /** The task, when the viewer may see it: else the same 404 as a task that does not exist. */
  async function visibleTask(id: string, viewer: Viewer): Promise<TaskRecord> {
    const task = await deps.getTask(id);
    if (!task || !(await viewer.mayAccess(task.request.repo))) {
      throw new PatchbayError('task_not_found', `no task ${id}`);
    }
    return task;
  }

  const view = (task: TaskRecord) => toTaskView(task, deps.pageUrl?.(task.id));

  http.route(
    'POST',
    '/api/tasks',
    guard(async (req, res, _params, viewer) => {
      const body = await parseBody(req);
      if (!(await viewer.mayAccess(body.repo))) {
        throw new PatchbayError('repo_not_allowed', `${viewer.name} may not start work on ${body.repo}`);
      }
      const key = req.headers['idempotency-key'];
      const deliveryId = typeof key === 'string' && key.length > 0 ? `api:${key.slice(0, 200)}` : undefined;
      const submit = body.conversation ? deps.submit : deps.accept;
      const { task, kind } = await submit({
        repo: body.repo,
        instruction: body.instruction,
        base: body.base,
        model: body.model,
        fresh: body.fresh,
        conversation: `${API_PREFIX}${body.conversation ?? newTaskId()}`,
        origin: {
          source: 'api',
          label: 'HTTP API',
          requester: viewer.operator ? undefined : viewer.name,
        },
        deliveryId,
      });
      const shown = view(task);
      // A repeat answers like the first request did, with the task as it is now.
      sendJson(res, 202, {
        id: shown.id,
        conversation: shown.conversation,
        status: shown.status,
        pageUrl: shown.pageUrl,
        repeated: kind === 'duplicate',
      });
    }, true),
  );

  http.route(
    'GET',
    '/api/tasks',
    guard(async (req, res, _params, viewer) => {
      const query = parseQuery(req);
      const { limit, cursor, ...filter } = query;
      const page = await deps.index.list(filter, {
        limit,
        cursor,
        visible: viewer.operator ? undefined : (repo) => viewer.mayAccess(repo),
      });
      sendJson(res, 200, {
        tasks: page.tasks.map((t) => toSummaryView(t, deps.pageUrl?.(t.id))),
        next: page.next,
      });
    }),
  );

  http.route(
    'GET',
    '/api/tasks/:id',
    guard(async (_req, res, params, viewer) => {
      sendJson(res, 200, view(await visibleTask(params.id ?? '', viewer)));
    }),
  );

  http.route(
    'GET',
    '/api/tasks/:id/events',
    guard(async (req, res, params, viewer) => {
      const task = await visibleTask(params.id ?? '', viewer);
      const url = new URL(req.url ?? '/', 'http://patchbay.invalid');
      const lastId = req.headers['last-event-id'];
      const after = (typeof lastId === 'string' && lastId) || url.searchParams.get('after') || undefined;
      if (wantsEventStream(req)) {
        await streamTimeline(req, res, {
          timeline: deps.timeline,
          taskId: task.id,
          after,
          stopping: deps.stopping,
        });
        return;
      }
      const limit = Math.min(1_000, Math.max(1, Number(url.searchParams.get('limit') ?? 1_000) || 1_000));
      const events = await deps.timeline.read(task.id, { after, limit });
      sendJson(res, 200, { events, next: events.length === limit ? events.at(-1)?.id : undefined });
    }),
  );

  http.route(
    'GET',
    '/api/tasks/:id/diff',
    guard(async (_req, res, params, viewer) => {
      const task = await visibleTask(params.id ?? '', viewer);
      const diff = await deps.diffs.get(task.id);
      if (!diff) throw new PatchbayError('task_not_found', `task ${task.id} has no diff (yet)`);
      res.writeHead(200, { 'content-type': 'text/x-diff; charset=utf-8', 'cache-control': 'no-store' });
      res.end(diff.patch);
    }),
  );

  http.route(
    'POST',
    '/api/tasks/:id/cancel',
    guard(async (_req, res, params, viewer) => {
      const task = await visibleTask(params.id ?? '', viewer);
      sendJson(res, 202, view(await deps.cancel(task.id)));
    }, true),
  );

  http.route(
    'POST',
    '/api/tasks/:id/retry',
    guard(async (_req, res, params, viewer) => {
      const task = await visibleTask(params.id ?? '', viewer);
      const { task: retry, kind } = await deps.retry(task.id);
      sendJson(res, 202, { ...view(retry), repeated: kind === 'duplicate' });
    }, true),
  );
}

function sendError(res: ServerResponse, err: unknown): void {
  const error = toPatchbayError(err);
  const status = STATUS_BY_CODE[error.code] ?? (error.permanent ? 422 : 503);
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, status, { error: { code: error.code, message: error.message, hint: error.hint } });
}

function parseQuery(req: IncomingMessage) {
  const params = new URL(req.url ?? '/', 'http://patchbay.invalid').searchParams;
  const query = ListQuery.safeParse(Object.fromEntries([...params].filter(([, v]) => v !== '')));
  if (!query.success) {
    throw new PatchbayError('invalid_request', describeIssues(query.error, { root: 'query' }).join('; '));
  }
  return query.data;
}

async function parseBody(req: IncomingMessage) {
  let raw: Buffer;
  try {
    raw = await readRawBody(req, 256 * 1024);
  } catch (err) {
    throw new PatchbayError(
      'invalid_request',
      err instanceof BodyTooLargeError ? err.message : 'could not read body',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PatchbayError('invalid_request', 'body is not JSON', {
      hint: 'send {"repo": "owner/name", "instruction": "..."}',
    });
  }
  const body = ApiTaskBody.safeParse(json);
  if (!body.success) {
    const detail = describeIssues(body.error, { root: 'body' }).join('; ');
    throw new PatchbayError('invalid_request', detail);
  }
  return body.data;
}
