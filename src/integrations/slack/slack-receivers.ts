import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type App, type Logger as BoltLogger, type Receiver, SocketModeReceiver } from '@slack/bolt';
import type { Logger } from '../../lib/logger.js';
import { readHeader, readWebhookBody, sendJson } from '../../server/http-server.js';
import { EventEnvelope, UrlVerification } from './slack-events.js';

/** Slack refuses requests older than five minutes; so do we, in both directions (clock skew, replays). */
const MAX_SKEW_SECONDS = 300;

interface Delivery {
  body: Record<string, unknown>;
  retryNum?: number;
  retryReason?: string;
}

/**
 * Runs Bolt's listeners for one delivery and resolves only once they are done. Bolt acknowledges
 * Events API deliveries before their listener runs; here its `ack` does nothing and the caller
 * acknowledges afterwards, so an acknowledged event is a queued one. Rejects when a listener failed
 * (the app's error handler rethrows), so that Slack delivers again.
 */
async function deliver(app: App, delivery: Delivery): Promise<void> {
  await app.processEvent({ ...delivery, ack: async () => undefined });
}

/**
 * HTTP mode on the shared server (`POST /slack/events`): the signature is checked on the exact bytes
 * received, `url_verification` is answered, and the response goes out after the listeners finished:
 * 200 when the work is queued, 5xx when it could not be (Slack retries), 4xx for anything not from
 * Slack or not understood. Bodies are never logged: they carry people's messages.
 */
export function createHttpReceiver(deps: { signingSecret: string; log: Logger }) {
  let app: App | undefined;
  /** Event types handled here without Bolt's dispatch (the same listener Bolt runs in Socket Mode). */
  const direct = new Map<string, (envelope: EventEnvelope) => Promise<void>>();
  const receiver: Receiver = {
    init: (a) => {
      app = a;
    },
    start: async () => undefined,
    stop: async () => undefined,
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readWebhookBody(req, res, 1_048_576);
    if (!raw) return;
    const rejection = checkSignature(req, raw, deps.signingSecret);
    if (rejection) {
      deps.log.warn({ reason: rejection }, 'slack request rejected');
      return sendJson(res, 401, { error: rejection });
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      return sendJson(res, 400, { error: 'body is not JSON' });
    }
    const challenge = UrlVerification.safeParse(json);
    if (challenge.success) return sendJson(res, 200, { challenge: challenge.data.challenge });
    const envelope = EventEnvelope.safeParse(json);
    if (!envelope.success) {
      const type = (json as { type?: unknown } | null)?.type;
      if (typeof type === 'string' && type !== 'event_callback') {
        deps.log.info({ type }, 'slack delivery ignored');
        return sendJson(res, 200, {});
      }
      return sendJson(res, 400, { error: 'not an Events API delivery' });
    }
    if (!app) return sendJson(res, 503, { error: 'not ready' });
    const { event_id: eventId, event } = envelope.data;
    const retryNum = Number(readHeader(req, 'x-slack-retry-num') ?? '') || undefined;
    const handler = direct.get(event.type);
    try {
      if (handler) await handler(envelope.data);
      else
        await deliver(app, {
          body: json as Record<string, unknown>,
          retryNum,
          retryReason: readHeader(req, 'x-slack-retry-reason'),
        });
    } catch (err) {
      deps.log.warn({ eventId, type: event.type, err: (err as Error).message }, 'slack event not queued');
      return sendJson(res, 503, { error: 'could not queue the event; Slack will retry' });
    }
    res.writeHead(200).end();
  }

  return {
    receiver,
    handle,
    /** Runs `handler` for events of `type` instead of Bolt's dispatch. */
    direct(type: string, handler: (envelope: EventEnvelope) => Promise<void>) {
      direct.set(type, handler);
    },
  };
}

/**
 * Why a request is not from Slack, or null when its signature holds. The HMAC is taken over the bytes
 * received, not their decoded text: invalid UTF-8 decodes to U+FFFD, so different bytes can decode to
 * the text that was signed (https://docs.slack.dev/authentication/verifying-requests-from-slack).
 */
function checkSignature(req: IncomingMessage, raw: Buffer, signingSecret: string): string | null {
  const signature = readHeader(req, 'x-slack-signature');
  const timestamp = readHeader(req, 'x-slack-request-timestamp');
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return 'missing signature headers';
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > MAX_SKEW_SECONDS) return 'stale timestamp';
  const given = /^v0=([0-9a-f]{64})$/.exec(signature)?.[1];
  if (!given || !signingSecret) return 'bad signature';
  const expected = createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(raw).digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex')) ? null : 'bad signature';
}

/**
 * Socket Mode (`SLACK_APP_TOKEN`): Bolt's SocketModeReceiver holds the websocket, and the envelope is
 * acknowledged only after the listeners queued the work; an unacknowledged envelope is redelivered.
 * Tested end to end against a local websocket server (tests/e2e/slack-socket-mode.test.ts).
 */
export function createSocketReceiver(deps: {
  appToken: string;
  apiUrl: string;
  logger: BoltLogger;
  log: Logger;
}): Receiver {
  const inner = new SocketModeReceiver({
    appToken: deps.appToken,
    logger: deps.logger,
    installerOptions: { clientOptions: { slackApiUrl: deps.apiUrl } },
    // Bolt's default handler acknowledges an envelope whose `authorize` failed (AuthorizationError),
    // and Slack then never redelivers it. Here every failure means "not queued": no acknowledgement.
    processEventErrorHandler: async ({ error, event }) => {
      const type = (event.body as { event?: { type?: unknown } }).event?.type;
      deps.log.warn({ type, err: error.message }, 'slack event not queued; left for Slack to redeliver');
      return false;
    },
  });
  return {
    init(app) {
      const deferred = {
        async processEvent(event: Parameters<App['processEvent']>[0]) {
          await deliver(app, { body: event.body, retryNum: event.retryNum, retryReason: event.retryReason });
          await event.ack();
        },
      };
      inner.init(deferred as unknown as App);
    },
    start: () => inner.start(),
    stop: () => inner.stop(),
  };
}
