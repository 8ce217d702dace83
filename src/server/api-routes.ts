import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { TaskPageUrl } from '../config/task-page-links.js';
import { PatchbayError, toPatchbayError } from '../domain/errors.js';
import type { TaskRecord } from '../domain/task.js';
import { RepoName } from '../domain/task-request.js';
import { newTaskId } from '../lib/ids.js';
import { describeIssues } from '../lib/zod-issues.js';
import { BodyTooLargeError, type HttpServer, readRawBody, sendJson } from './http-server.js';
import type { TaskServices } from './integration.js';

const ApiTaskBody = z
  .object({
    repo: RepoName,
    instruction: z.string().trim().min(1, 'must not be empty').max(20_000),
    conversation: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" and "-" only, at most 100')
      .optional(),
    base: z.string().min(1).max(200).optional(),
  })
  .strict();

const STATUS_BY_CODE: Partial<Record<string, number>> = {
  invalid_request: 400,
  repo_not_allowed: 422,
  task_not_found: 404,
  internal: 503,
};

export interface ApiDeps extends Pick<TaskServices, 'submit' | 'cancel' | 'getTask'> {
  token: string | undefined;
  /** Links each task to its page (`pageUrl`); none without PATCHBAY_PUBLIC_URL. */
  pageUrl?: TaskPageUrl;
}

const API_PREFIX = 'api:';

/** What the API shows of a task: no request text, no transcript. */
export function toTaskView(task: TaskRecord, pageUrl?: string) {
  return {
    id: task.id,
    pageUrl,
    conversation: task.conversation.startsWith(API_PREFIX)
      ? task.conversation.slice(API_PREFIX.length)
      : task.conversation,
    status: task.status,
    steps: task.steps,
    attempts: task.attempts,
    repo: task.request.repo,
    branch: task.branch,
    summary: task.summary,
    pullRequest: task.pullRequest,
    question: task.question,
    error: task.error,
    checks: task.checks.map((c) => ({ command: c.command, exitCode: c.exitCode, timedOut: c.timedOut })),
    usage: task.usage,
    createdAt: task.createdAt,
    finishedAt: task.finishedAt,
  };
}

function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function sendError(res: ServerResponse, err: unknown): void {
  const error = toPatchbayError(err);
  const status = STATUS_BY_CODE[error.code] ?? (error.permanent ? 422 : 503);
  sendJson(res, status, { error: { code: error.code, message: error.message, hint: error.hint } });
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

/** `POST /api/tasks`, `GET /api/tasks/:id`, `POST /api/tasks/:id/cancel`, behind a bearer token. */
export function registerApiRoutes(http: HttpServer, deps: ApiDeps): void {
  const guard =
    (handler: (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => Promise<void>) =>
    async (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => {
      if (!deps.token) {
        sendJson(res, 404, {
          error: { code: 'api_off', message: 'the API is off: set PATCHBAY_API_TOKEN to turn it on' },
        });
        return;
      }
      if (!authorized(req, deps.token)) {
        sendJson(
          res,
          401,
          { error: { code: 'unauthorized', message: 'missing or wrong bearer token' } },
          { 'www-authenticate': 'Bearer' },
        );
        return;
      }
      try {
        await handler(req, res, params);
      } catch (err) {
        sendError(res, err);
      }
    };

  http.route(
    'POST',
    '/api/tasks',
    guard(async (req, res) => {
      const body = await parseBody(req);
      const key = req.headers['idempotency-key'];
      const deliveryId = typeof key === 'string' && key.length > 0 ? `api:${key.slice(0, 200)}` : undefined;
      const { task, kind } = await deps.submit({
        repo: body.repo,
        instruction: body.instruction,
        base: body.base,
        conversation: `${API_PREFIX}${body.conversation ?? newTaskId()}`,
        origin: { source: 'api', label: 'HTTP API' },
        deliveryId,
      });
      const view = toTaskView(task, deps.pageUrl?.(task.id));
      // A repeat answers like the first request did, with the task as it is now.
      sendJson(res, 202, {
        id: view.id,
        conversation: view.conversation,
        status: view.status,
        repeated: kind === 'duplicate',
      });
    }),
  );

  http.route(
    'GET',
    '/api/tasks/:id',
    guard(async (_req, res, params) => {
      const task = await deps.getTask(params.id ?? '');
      if (!task) throw new PatchbayError('task_not_found', `no task ${params.id}`);
      sendJson(res, 200, toTaskView(task, deps.pageUrl?.(task.id)));
    }),
  );

  http.route(
    'POST',
    '/api/tasks/:id/cancel',
    guard(async (_req, res, params) => {
      const task = await deps.cancel(params.id ?? '');
      sendJson(res, 202, toTaskView(task, deps.pageUrl?.(task.id)));
    }),
  );
}
