import { afterEach } from 'vitest';
import type { Script } from '../../src/demo/scripted-model.js';
import type { Clock } from '../../src/lib/clock.js';
import { type Harness, type HarnessOptions, startHarness } from './harness.js';
import { nextTs, postToSlackEvents, type SlackBody, slackEvent } from './slack-requests.js';
import { type SlackStandIn, startSlackStandIn } from './slack-stand-in.js';

export const SLACK_SECRET = 'e2e-signing-secret-0123456789abcdef';
export const SLACK_BOT = 'UPATCHBOT';

export interface SlackStartOptions {
  file?: Record<string, unknown>;
  worker?: boolean;
  /** The app is declared as a Slack agent (agents.sessions.* answer). */
  agent?: boolean;
  env?: Record<string, string>;
  /** The clock the integrations' timers run on (HarnessOptions.clock). */
  clock?: Clock;
  /** The first server's inbox consumer (HarnessOptions.inbox). */
  inbox?: HarnessOptions['inbox'];
}

/**
 * Patchbay (the e2e harness) with Slack on in HTTP mode against the Web API stand-in, one per test;
 * both closed after it. `env` adds to Patchbay's environment (another integration beside Slack).
 */
export function slackPerTest() {
  let h: Harness | undefined;
  let slack: SlackStandIn | undefined;
  afterEach(async () => {
    await h?.close();
    await slack?.close();
    h = undefined;
    slack = undefined;
  });
  return async (script: Script, opts: SlackStartOptions = {}) => {
    slack = await startSlackStandIn({
      botUserId: SLACK_BOT,
      agent: opts.agent,
      channels: { C0GENERAL: 'general' },
    });
    h = await startHarness({
      script,
      worker: opts.worker,
      env: {
        SLACK_BOT_TOKEN: slack.token,
        SLACK_SIGNING_SECRET: SLACK_SECRET,
        SLACK_API_URL: slack.url,
        ...opts.env,
      },
      file: opts.file,
      clock: opts.clock,
      inbox: opts.inbox,
    });
    const s = slack;
    const harness = h;
    const send = (body: SlackBody | string, o?: Parameters<typeof postToSlackEvents>[3]) =>
      postToSlackEvents(harness.base, SLACK_SECRET, body, o);
    return {
      h: harness,
      slack: s,
      send,
      /** `@patchbay <text>` as a new top-level message; returns the delivery and the message's ts. */
      async mention(text: string, event: Record<string, unknown> = {}) {
        const ts = nextTs();
        const body = slackEvent('app_mention_channel', {
          text: `<@${SLACK_BOT}> ${text}`,
          ts,
          event_ts: ts,
          ...event,
        });
        return { res: await send(body), ts, body };
      },
      /** Messages the bot posted in a thread, in order. */
      posts: (threadTs: string) => s.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === threadTs),
      reactions: (ts: string) => s.callsTo('reactions.add').filter((c) => c.args.timestamp === ts),
    };
  };
}
