import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { HookConfig } from '../config/automation-schema.js';
import type { TaskPageUrl } from '../config/task-page-links.js';
import { PatchbayError } from '../domain/errors.js';
import type { KeyValueStore } from '../domain/ports.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { checkHookSignature, HOOK_TOLERANCE_S } from './hook-signature.js';
import { type HttpServer, readHeader, readWebhookBody, sendJson } from './http-server.js';
import type { TaskServices } from './integration.js';
import { renderHookFields } from './render-hook-fields.js';

/** Counts a hook's deliveries in the last hour; a delivery seen before is not counted again. */
export interface HookLimiter {
  take(
    hook: string,
    delivery: string,
    perHour: number,
    now: number,
  ): Promise<{ allowed: boolean; retryAfterS: number }>;
}

export interface HookDeps {
  hooks: ReadonlyArray<HookConfig & { secret: string }>;
  submit: TaskServices['submit'];
  limiter: HookLimiter;
  /** Remembers signatures for as long as a timestamp is accepted: the same one under another delivery id is a replay. */
  kv: KeyValueStore;
  pageUrl?: TaskPageUrl;
  clock: Clock;
  log: Logger;
}

const DELIVERY = /^[A-Za-z0-9._:-]{1,100}$/;
const MAX_BODY_BYTES = 1_048_576;

/**
 * `POST /api/hooks/:name`: a task from another system, open without the API token but signed with
 * the hook's own secret (`PATCHBAY_HOOK_SECRET_<NAME>`): `X-Patchbay-Signature` over the timestamp
 * and the body, `X-Patchbay-Timestamp` within 5 minutes, `X-Patchbay-Delivery` as the idempotency
 * key (a repeat answers the first task). The instruction is the hook's own from patchbay.yml; the
 * delivery only fills in its `fields`, which reach the task as untrusted context. At most `per_hour`
 * deliveries an hour per hook. A hook that is not configured, or has no secret, does not exist (404).
 */
export function registerHookRoutes(http: HttpServer, deps: HookDeps): void {
  const byName = new Map(deps.hooks.map((h) => [h.name, h]));

  http.route('POST', '/api/hooks/:name', async (req, res, params) => {
    const hook = byName.get(params.name ?? '');
    if (!hook) return sendJson(res, 404, { error: { code: 'not_found', message: 'no such hook' } });
    const raw = await readWebhookBody(req, res, MAX_BODY_BYTES);
    if (!raw) return;
    const log = deps.log.child({ hook: hook.name });
    const signature = readHeader(req, 'x-patchbay-signature');
    const check = checkHookSignature({
      secret: hook.secret,
      body: raw,
      timestamp: readHeader(req, 'x-patchbay-timestamp'),
      signature,
      now: deps.clock.now(),
    });
    if (!check.ok) {
      log.warn({ reason: check.reason }, 'hook delivery refused');
      return refuse(res, 401, 'unauthorized', check.reason);
    }
    const delivery = readHeader(req, 'x-patchbay-delivery');
    if (!delivery || !DELIVERY.test(delivery)) {
      return refuse(
        res,
        400,
        'invalid_request',
        'X-Patchbay-Delivery: letters, digits, ".", "_", ":" and "-", at most 100',
      );
    }
    if (!(await isFirstUse(deps.kv, signature ?? '', delivery))) {
      log.warn({ delivery }, 'hook delivery refused: a signature seen under another delivery id');
      return refuse(res, 409, 'replayed', 'this signature came with another delivery id');
    }
    const body = parseJson(raw);
    if (body === undefined) return refuse(res, 400, 'invalid_request', 'the body is not JSON');
    const limit = await deps.limiter.take(hook.name, delivery, hook.per_hour, deps.clock.now());
    if (!limit.allowed) {
      log.warn({ delivery, perHour: hook.per_hour }, 'hook rate limit reached');
      return sendJson(
        res,
        429,
        { error: { code: 'rate_limited', message: `at most ${hook.per_hour} deliveries an hour` } },
        { 'retry-after': String(limit.retryAfterS) },
      );
    }
    try {
      const { task, kind } = await deps.submit({
        repo: hook.repository,
        instruction: hook.instruction,
        conversation: `hook:${hook.name}:${delivery}`,
        context: renderHookFields(hook.name, hook.fields, body),
        origin: { source: 'hook', label: `Hook ${hook.name}` },
        deliveryId: `hook:${hook.name}:${delivery}`,
      });
      log.info({ delivery, taskId: task.id, kind }, 'hook delivery queued');
      sendJson(res, 202, {
        id: task.id,
        conversation: task.conversation,
        status: task.status,
        pageUrl: deps.pageUrl?.(task.id),
        repeated: kind === 'duplicate',
      });
    } catch (err) {
      const error = err instanceof PatchbayError ? err : undefined;
      log.warn({ delivery, code: error?.code, err: (err as Error).message }, 'hook delivery not queued');
      if (error?.permanent) return refuse(res, 422, error.code, error.message);
      return refuse(res, 503, 'unavailable', 'could not queue the task; send the delivery again');
    }
  });
}

/**
 * A signature is good for one delivery id: kept as long as its timestamp is accepted, so that a
 * captured request sent again under a new delivery id is refused rather than run twice.
 */
async function isFirstUse(kv: KeyValueStore, signature: string, delivery: string): Promise<boolean> {
  const key = `signature:${createHash('sha256').update(signature).digest('hex')}`;
  if (await kv.setIfAbsent(key, delivery, 2 * HOOK_TOLERANCE_S)) return true;
  return (await kv.get(key)) === delivery;
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

function refuse(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}
