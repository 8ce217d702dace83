import type { IncomingMessage, ServerResponse } from 'node:http';
import { LINEAR_WEBHOOK_SIGNATURE_HEADER, LinearWebhookClient } from '@linear/sdk/webhooks';
import { type Clock, systemClock } from '../../lib/clock.js';
import { withDeadline } from '../../lib/deadline.js';
import type { Logger } from '../../lib/logger.js';
import { readHeader, readWebhookBody, sendJson } from '../../server/http-server.js';
import { WebhookEnvelope } from './linear-events.js';

/** A verified delivery: its parsed body and the `Linear-Delivery` id (the same on a redelivery). */
export interface LinearDelivery {
  envelope: WebhookEnvelope;
  body: unknown;
  deliveryId: string | undefined;
  event: string | undefined;
}

/**
 * `POST /linear/webhook`. The signature is checked on the bytes received by the SDK's
 * `LinearWebhookClient.verify`, which also refuses a `webhookTimestamp` more than a minute away from
 * now (a replay). The answer goes out after `dispatch` resolved: 200 once the work is queued (or
 * deliberately skipped), 503 when it could not be or not within 4 s (Linear delivers again; it waits
 * 5 s for an answer), 401 for anything not
 * signed with our secret, 400 for a signed body we cannot read. Bodies are never logged.
 */
export function createWebhookHandler(deps: {
  secret: string;
  log: Logger;
  dispatch: (delivery: LinearDelivery) => Promise<void>;
  /** Linear gives up on an answer after 5 s; past this, 503 (it delivers again) while work goes on. */
  answerWithinMs?: number;
  clock?: Clock;
}) {
  const clock = deps.clock ?? systemClock;
  const verifier = new LinearWebhookClient(deps.secret);

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readWebhookBody(req, res, 1_048_576);
    if (!raw) return;
    const signature = readHeader(req, LINEAR_WEBHOOK_SIGNATURE_HEADER);
    const rejection = signature ? verify(verifier, raw, signature) : { status: 401, reason: 'no signature' };
    if (rejection) {
      deps.log.warn({ reason: rejection.reason }, 'linear webhook rejected');
      return sendJson(res, rejection.status, { error: rejection.reason });
    }
    const body: unknown = JSON.parse(raw.toString('utf8'));
    const envelope = WebhookEnvelope.safeParse(body);
    if (!envelope.success) return sendJson(res, 400, { error: 'not a Linear webhook' });
    const delivery: LinearDelivery = {
      envelope: envelope.data,
      body,
      deliveryId: readHeader(req, 'linear-delivery'),
      event: readHeader(req, 'linear-event'),
    };
    try {
      // The work goes on past the deadline: it may still queue the task, and the redelivery that the
      // 503 brings about finds it by its delivery id.
      const ms = deps.answerWithinMs ?? 4_000;
      await withDeadline(deps.dispatch(delivery), ms, `not queued within ${ms} ms`, clock);
    } catch (err) {
      const { type, action } = envelope.data;
      deps.log.warn(
        { type, action, delivery: delivery.deliveryId, err: (err as Error).message },
        'linear webhook not queued',
      );
      return sendJson(res, 503, { error: 'could not queue the event; Linear will retry' });
    }
    sendJson(res, 200, {});
  };
}

/**
 * Why a body is refused, or null when it is ours. `verify` checks the HMAC before it parses the
 * body, so a correctly signed body that is not JSON (a SyntaxError) is a malformed request, not a
 * forged one. The SDK says why only in its messages; they pick the status and the log line only.
 */
function verify(verifier: LinearWebhookClient, raw: Buffer, signature: string) {
  try {
    verifier.verify(raw, signature);
    return null;
  } catch (err) {
    if (err instanceof SyntaxError) return { status: 400, reason: 'body is not JSON' };
    const message = err instanceof Error ? err.message : '';
    // Signed but without its timestamp: ours, yet malformed. A timestamp out of range is a replay.
    if (/missing webhook timestamp/i.test(message)) return { status: 400, reason: 'no webhookTimestamp' };
    if (/timestamp/i.test(message)) return { status: 401, reason: 'stale webhookTimestamp' };
    return { status: 401, reason: 'bad signature' };
  }
}
