import type { IncomingMessage, ServerResponse } from 'node:http';
import { Webhooks } from '@octokit/webhooks';
import type { Logger } from '../../lib/logger.js';
import { readHeader, readWebhookBody, sendJson } from '../../server/http-server.js';

/** A verified delivery: the event name, the delivery id (the same on a redelivery) and the parsed body. */
export interface GitHubDelivery {
  event: string;
  deliveryId: string;
  body: unknown;
}

/** What became of a delivery: 200 either way; `malformed` is a 400. */
export type DispatchResult = 'queued' | 'ignored' | 'malformed';

/** GitHub caps payloads at 25 MB; comments and reviews are far smaller, so this is generous. */
const MAX_BODY_BYTES = 5 * 1_048_576;

/**
 * `POST /github/webhook`. `X-Hub-Signature-256` is checked over the bytes received with the real
 * `Webhooks.verify` of `@octokit/webhooks` (HMAC-SHA256, constant-time compare): missing or wrong →
 * 401. A signed delivery without an event name or delivery id, or whose body is not JSON, is
 * malformed → 400. The answer goes out once `dispatch` resolved: 200 when the work is queued or the
 * delivery deliberately skipped, 503 when queueing failed (GitHub does not redeliver on its own; the
 * delivery log shows the failure and offers a redelivery). Bodies are never logged.
 */
export function createGitHubWebhookHandler(deps: {
  secret: string;
  log: Logger;
  dispatch: (delivery: GitHubDelivery) => Promise<DispatchResult>;
}) {
  const webhooks = new Webhooks({ secret: deps.secret });

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readWebhookBody(req, res, MAX_BODY_BYTES);
    if (!raw) return;
    const signature = readHeader(req, 'x-hub-signature-256');
    const event = readHeader(req, 'x-github-event');
    const deliveryId = readHeader(req, 'x-github-delivery');
    if (!signature || !(await verify(webhooks, raw, signature))) {
      deps.log.warn({ event, delivery: deliveryId, signed: Boolean(signature) }, 'github webhook rejected');
      return sendJson(res, 401, { error: signature ? 'bad signature' : 'no signature' });
    }
    const body = parseBody(raw, readHeader(req, 'content-type'));
    if (body === undefined) return sendJson(res, 400, { error: 'body is not JSON' });
    if (!event || !deliveryId) return sendJson(res, 400, { error: 'no X-GitHub-Event or X-GitHub-Delivery' });
    if (event === 'ping') {
      deps.log.info({ delivery: deliveryId }, 'github webhook ping');
      return sendJson(res, 200, { ok: true });
    }
    try {
      const result = await deps.dispatch({ event, deliveryId, body });
      if (result === 'malformed') return sendJson(res, 400, { error: `not a ${event} payload` });
      sendJson(res, 200, { result });
    } catch (err) {
      deps.log.warn(
        { event, delivery: deliveryId, err: (err as Error).message },
        'github webhook not queued',
      );
      sendJson(res, 503, { error: 'could not queue the event; redeliver it from the webhook settings' });
    }
  };
}

async function verify(webhooks: Webhooks, raw: Buffer, signature: string): Promise<boolean> {
  if (raw.length === 0) return false;
  try {
    return await webhooks.verify(raw.toString('utf8'), signature);
  } catch {
    return false;
  }
}

/**
 * A webhook's content type is `application/json` or `application/x-www-form-urlencoded` (then the
 * JSON is the `payload` field); the signature covers the raw body either way. Undefined: unreadable.
 */
function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  try {
    const text = raw.toString('utf8');
    if (!contentType?.startsWith('application/x-www-form-urlencoded')) return JSON.parse(text);
    const payload = new URLSearchParams(text).get('payload');
    return payload === null ? undefined : JSON.parse(payload);
  } catch {
    return undefined;
  }
}
