import { App } from '@slack/bolt';
import { createBackgroundWork } from '../../lib/background-work.js';
import type { Clock } from '../../lib/clock.js';
import { memoizeAsync } from '../../lib/memoize-async.js';
import type { HttpServer } from '../../server/http-server.js';
import type { Integration, IntegrationContext } from '../../server/integration.js';
import { handleMention } from './handle-mention.js';
import { handleReaction, handleSessionStopped, handleThreadReply } from './handle-thread-events.js';
import { createMentionEntryHandler, MENTION_ENTRY } from './mention-entry.js';
import { type SlackClients, toBoltLogger } from './slack-client.js';
import { createSlackDoors } from './slack-doors.js';
import {
  AgentSessionStopped,
  EventEnvelope,
  MentionEvent,
  MessageEvent,
  ReactionEvent,
} from './slack-events.js';
import { createOrigins } from './slack-origin.js';
import { createHttpReceiver, createSocketReceiver } from './slack-receivers.js';
import { createSlackReporter } from './slack-reporter.js';
import type { SlackRules, SlackSettings } from './slack-settings.js';
import { createThreadActions } from './slack-thread.js';
import type { BotIdentity } from './thread-commands.js';

export interface SlackIntegrationDeps extends IntegrationContext {
  settings: SlackSettings;
  rules: SlackRules;
  clients: SlackClients;
  /** Status message edits at most this often (default 3 s). */
  editIntervalMs?: number;
  /** The clock the reporter spaces its edits by (default the system's; tests may hold one still). */
  clock?: Clock;
}

/**
 * Slack as a trigger and a place to report: Bolt's listeners on the shared server (HTTP mode) or a
 * websocket (Socket Mode) turn mentions into tasks, and a reporter renders the tasks' events in
 * their threads from whichever worker runs them.
 */
export function createSlackIntegration(deps: SlackIntegrationDeps): Integration {
  const { settings, rules, clients, tasks, kv } = deps;
  const log = deps.log;
  const retentionDays = rules.retentionDays;
  const actions = createThreadActions({ client: clients.patient, kv, log, retentionDays });
  const reporter = createSlackReporter({
    actions,
    kv,
    budget: rules.budget,
    pageUrl: rules.pageUrl,
    retentionDays,
    log,
    editIntervalMs: deps.editIntervalMs,
    clock: deps.clock,
  });
  const work = createBackgroundWork(log, 'slack reply failed');
  const background = work.run;
  const bot = memoizeIdentity(clients);
  const doors = createSlackDoors({ client: clients.patient, actions, bot, log });
  const handlerDeps = { tasks, kv, rules, actions, bot, background, log };
  const boltLogger = toBoltLogger(log.child({ component: 'bolt' }));
  const http = settings.appToken
    ? undefined
    : createHttpReceiver({ signingSecret: settings.signingSecret ?? '', log });
  const receiver =
    http?.receiver ??
    createSocketReceiver({
      appToken: settings.appToken ?? '',
      apiUrl: settings.apiUrl,
      logger: boltLogger,
      log,
    });
  let serving = false;

  const app = new App({
    receiver,
    logger: boltLogger,
    convoStore: false,
    clientOptions: { slackApiUrl: settings.apiUrl },
    authorize: async () => {
      const id = await bot();
      return { botToken: settings.botToken, botUserId: id.userId, botId: id.botId };
    },
  });
  app.error(async (error) => {
    throw error; // the receiver answers 5xx (HTTP) or leaves the envelope unacknowledged (Socket Mode)
  });
  const mentionDeps = {
    ...handlerDeps,
    quick: clients.quick,
    origins: createOrigins({ client: clients.patient, kv, log }),
  };
  const onMention = async (envelope: EventEnvelope) => {
    const event = parseEvent(envelope, MentionEvent);
    if (event) await handleMention(mentionDeps, envelope, event);
  };
  app.event('app_mention', async ({ body }) => onMention(EventEnvelope.parse(body)));
  // In HTTP mode a mention is accepted without Bolt's dispatch (its middleware chain, context and
  // listener matching): the answer waits only for what makes the mention durable.
  http?.direct('app_mention', onMention);
  app.event('message', async ({ body }) => {
    const { envelope, event } = parse(body, MessageEvent);
    if (event) await handleThreadReply(handlerDeps, envelope, event);
  });
  app.event('reaction_added', async ({ body }) => {
    const { envelope, event } = parse(body, ReactionEvent);
    if (event) await handleReaction(handlerDeps, envelope, event);
  });
  app.event('agent_session_stopped', async ({ body }) => {
    const { envelope, event } = parse(body, AgentSessionStopped);
    if (event) await handleSessionStopped(handlerDeps, envelope, event);
  });

  function parse<T>(body: unknown, schema: { safeParse(v: unknown): { success: boolean; data?: T } }) {
    const envelope = EventEnvelope.parse(body);
    return { envelope, event: parseEvent(envelope, schema) };
  }

  function parseEvent<T>(
    envelope: EventEnvelope,
    schema: { safeParse(v: unknown): { success: boolean; data?: T } },
  ): T | undefined {
    const result = schema.safeParse(envelope.event);
    if (!result.success)
      log.info({ type: envelope.event.type, eventId: envelope.event_id }, 'slack event not understood');
    return result.success ? result.data : undefined;
  }

  return {
    name: 'slack',
    registerRoutes(server: HttpServer) {
      serving = true;
      if (http) server.route('POST', '/slack/events', http.handle);
    },
    inboxHandlers: { [MENTION_ENTRY]: createMentionEntryHandler(mentionDeps) },
    reporter,
    notices: doors.notices,
    openThread: doors.openThread,
    async start() {
      if (!serving) return; // a worker-only process reports to Slack but takes no events
      const mode = settings.appToken ? 'Socket Mode' : 'HTTP mode, events at POST /slack/events';
      try {
        const id = await bot();
        log.info({ mode, botUserId: id.userId }, 'Slack on');
      } catch (err) {
        log.warn(
          { mode, err: (err as Error).message },
          'Slack on, but auth.test failed; check SLACK_BOT_TOKEN',
        );
      }
      if (settings.appToken) await app.start();
    },
    async stop() {
      if (serving && settings.appToken) await app.stop();
      await work.settle(10_000, () => reporter.idle());
    },
  };
}

/** auth.test once (the bot's own user id tells mentions and its own reactions apart); again after a failure. */
function memoizeIdentity(clients: SlackClients): () => Promise<BotIdentity> {
  return memoizeAsync(async () => {
    const res = await clients.patient.auth.test();
    if (typeof res.user_id !== 'string') throw new Error('auth.test returned no user_id');
    return {
      userId: res.user_id,
      botId: typeof res.bot_id === 'string' ? res.bot_id : undefined,
      workspaceUrl: typeof res.url === 'string' ? res.url : undefined,
      teamId: typeof res.team_id === 'string' ? res.team_id : undefined,
    };
  });
}
