import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookHandler } from '../../src/integrations/linear/linear-receiver.js';
import type { Clock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { createManualClock } from '../fakes/manual-clock.js';

const SECRET = 'deadline-test-secret';
let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = undefined;
});

async function serve(dispatch: () => Promise<void>, clock?: Clock): Promise<string> {
  const log = createLogger({ level: 'silent' });
  const handle = createWebhookHandler({ secret: SECRET, log, dispatch, answerWithinMs: 300, clock });
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function post(url: string) {
  const raw = JSON.stringify({ type: 'AgentSessionEvent', action: 'created', webhookTimestamp: Date.now() });
  const signature = createHmac('sha256', SECRET).update(raw).digest('hex');
  return fetch(url, { method: 'POST', headers: { 'linear-signature': signature }, body: raw });
}

describe('Linear webhook answer time', () => {
  it('answers 503 in time when queueing hangs, so that Linear delivers again instead of timing out', async () => {
    const clock = createManualClock();
    let dispatched: () => void = () => undefined;
    const url = await serve(() => new Promise<void>((r) => (dispatched = r)), clock);

    const answering = post(url);
    await clock.waitForTimer(300); // queueing hangs; the deadline waits on the clock
    clock.advance(300);
    const res = await answering;
    dispatched();

    expect(res.status).toBe(503);
  });

  it('answers 200 once work done in time is queued', async () => {
    const url = await serve(async () => undefined);

    const res = await post(url);

    expect(res.status).toBe(200);
  });
});
