import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { shortHash } from '../../src/lib/ids.js';
import { type Harness, isFinal, queuedTaskIds, startHarness } from '../fakes/harness.js';
import { REDIS_URL } from '../fakes/redis.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { eventually, nextTs, slackEvent } from '../fakes/slack-requests.js';
import { type SlackStandIn, startSlackStandIn } from '../fakes/slack-stand-in.js';
import { startSocketModeSlack } from '../fakes/socket-mode-slack.js';

const BOT = 'UPATCHBOT';
let h: Harness | undefined;
let slack: SlackStandIn | undefined;
let ws: Awaited<ReturnType<typeof startSocketModeSlack>> | undefined;
afterEach(async () => {
  await h?.close();
  await slack?.close();
  await ws?.close();
  h = undefined;
  slack = undefined;
  ws = undefined;
});

describe('Slack in Socket Mode (SLACK_APP_TOKEN)', () => {
  it('takes a mention from the websocket to a PR, acknowledges it once accepted, and ignores a redelivery', async () => {
    ws = await startSocketModeSlack();
    slack = await startSlackStandIn({ botUserId: BOT, socketUrl: ws.url });
    h = await startHarness({
      script: FIX_GREETING,
      env: { SLACK_BOT_TOKEN: slack.token, SLACK_APP_TOKEN: slack.appToken, SLACK_API_URL: slack.url },
    });
    const harness = h;
    const stand = slack;
    // What the inbox held for the delivery when its envelope was acknowledged: the claim of its task.
    const redis = new Redis(REDIS_URL);
    const prefix = harness.workerProcessEnv.PATCHBAY_REDIS_PREFIX;
    const claimAtAck = new Map<string, Promise<string | null>>();
    ws.onMessage((r) => {
      const id = r.message.envelope_id;
      const key = `${prefix}{inbox}:inbox-delivery:${shortHash(`slack:${body.event_id}`, 32)}`;
      if (id && !claimAtAck.has(id)) claimAtAck.set(id, redis.get(key));
    });
    const ts = nextTs();
    const body = slackEvent('app_mention_channel', { text: `<@${BOT}> fix the greeting in acme/web`, ts });
    const posts = () => stand.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === ts);

    const first = ws.sendEvent(body);
    const firstAck = await ws.ackFor(first);
    const accepted = await eventually(() => posts()[0], 20_000, 'accept reply');
    const eyes = await eventually(
      () => stand.callsTo('reactions.add').find((c) => c.args.timestamp === ts && c.args.name === 'eyes'),
      20_000,
      '👀',
    );
    const taskId = /task `(t[0-9a-z]+)`/.exec(accepted.args.text ?? '')?.[1] ?? '';
    const task = await h.waitFor(taskId, isFinal, 90_000);
    const result = await eventually(
      () => posts().find((c) => c.args.text?.includes('|Pull request #')),
      20_000,
      'result reply',
    );
    const redelivered = ws.sendEvent(body, { attempt: 1, reason: 'timeout' });
    // Acknowledged only after its handler ran: a duplicate, it accepted nothing and left nothing behind.
    const secondAck = await ws.ackFor(redelivered);

    expect(stand.callsTo('apps.connections.open')[0]?.result?.url).toMatch(/^ws:\/\/127\.0\.0\.1:/);
    expect(firstAck.message).toEqual({ envelope_id: first, payload: {} });
    expect(await claimAtAck.get(first)).toBe(taskId);
    redis.disconnect();
    expect(accepted.args.text).toContain(
      `\`acme/web\`, base the repository's default branch, task \`${taskId}\``,
    );
    expect(eyes.args.channel).toBe('C0GENERAL');
    expect(task.status).toBe('succeeded');
    expect(h.github.pulls).toHaveLength(1);
    expect(result.args.text).toContain(`|Pull request #${task.pullRequest?.number}>`);
    expect(secondAck.message).toEqual({ envelope_id: redelivered, payload: {} });
    expect(queuedTaskIds(h)).toEqual([taskId]);
    expect(posts().filter((c) => c.args.text?.startsWith('👀 On it'))).toHaveLength(1);
    expect(stand.callsTo('reactions.add').filter((c) => c.args.name === 'eyes')).toHaveLength(1);
    expect(stand.unmatched).toEqual([]);
    expect(h.logLines.join('')).not.toContain(stand.appToken);
  }, 120_000);

  it('closes the websocket with a normal close when Patchbay stops', async () => {
    ws = await startSocketModeSlack();
    slack = await startSlackStandIn({ botUserId: BOT, socketUrl: ws.url });
    h = await startHarness({
      script: [],
      worker: false,
      env: { SLACK_BOT_TOKEN: slack.token, SLACK_APP_TOKEN: slack.appToken, SLACK_API_URL: slack.url },
    });
    const server = ws;
    const openBefore = server.open();

    await h.close();
    h = undefined;
    // Bolt's SocketModeReceiver.stop() starts the close handshake without waiting for its end.
    await eventually(() => server.open() === 0, 20_000, 'the websocket to close');

    expect(openBefore).toBe(1);
    expect(server.closeCodes).toEqual([1000]);
    expect(server.connections()).toBe(1);
  });
});
