import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'slack');

export type SlackBody = Record<string, unknown> & { event?: Record<string, unknown> };

/** A trimmed real-shaped payload from tests/fixtures/slack, with a fresh `event_id` and overrides. */
export function slackEvent(
  fixture: string,
  event: Record<string, unknown> = {},
  envelope: Record<string, unknown> = {},
): SlackBody {
  const body = JSON.parse(readFileSync(join(FIXTURES, `${fixture}.json`), 'utf8')) as SlackBody;
  return {
    ...body,
    event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    ...envelope,
    event: { ...body.event, ...event },
  };
}

let tsCounter = 0;
/** A message timestamp no other message in the test has. */
export function nextTs(): string {
  tsCounter += 1;
  return `${1_712_000_000 + tsCounter}.${String(tsCounter).padStart(6, '0')}`;
}

/** Slack's request signature: `v0=` + HMAC-SHA256 of `v0:<timestamp>:<body bytes>` with the signing secret. */
export function signSlack(secret: string, body: string | Buffer, timestamp = Math.floor(Date.now() / 1000)) {
  const mac = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body);
  const signature = `v0=${mac.digest('hex')}`;
  return { 'x-slack-signature': signature, 'x-slack-request-timestamp': String(timestamp) };
}

/** POSTs a body to `/slack/events` the way Slack does, signed unless `headers` say otherwise. */
export function postToSlackEvents(
  base: string,
  secret: string,
  body: SlackBody | string | Buffer,
  opts: { headers?: Record<string, string>; timestamp?: number; unsigned?: boolean } = {},
): Promise<Response> {
  const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const signed = opts.unsigned ? {} : signSlack(secret, raw, opts.timestamp);
  return fetch(`${base}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Slackbot 1.0', ...signed, ...opts.headers },
    body: raw,
  });
}

/** Polls until `check` returns something truthy. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
