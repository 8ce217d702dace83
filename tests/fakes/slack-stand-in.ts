import { type RecordedCall, type StandInReply, startHttpStandIn } from '../../src/demo/http-stand-in.js';

/** One Web API call as the stand-in saw it: the method, its arguments (form or JSON), when. */
export interface SlackCall {
  method: string;
  args: Record<string, string>;
  at: number;
  /** What the stand-in answered: 200, or the status a `failNext` forced. */
  status: number;
  /** The answer's body (`ts` of a posted message, …). */
  result?: Record<string, unknown>;
}

export interface SlackMessage {
  ts: string;
  user?: string;
  bot_id?: string;
  text: string;
  thread_ts?: string;
}

export interface SlackStandIn {
  /** Base for `SLACK_API_URL`, ending in `/`. */
  url: string;
  token: string;
  /** The app-level token (xapp-…) that apps.connections.open takes, for `SLACK_APP_TOKEN`. */
  appToken: string;
  botUserId: string;
  calls: SlackCall[];
  /** Requests for methods the stand-in does not know; a test asserts this stays empty. */
  unmatched: RecordedCall[];
  callsTo(method: string): SlackCall[];
  /**
   * The next call to `method` is answered with `status` (and `Retry-After` when given) and
   * `{ ok: false, error }` (`ratelimited` unless given; with status 200 that is a platform error).
   */
  failNext(method: string, status: number, retryAfterSeconds?: number, error?: string): void;
  /** Messages conversations.replies returns for a thread. */
  setThread(channel: string, threadTs: string, messages: SlackMessage[]): void;
  close(): Promise<void>;
}

const METHODS = [
  'auth.test',
  'chat.postMessage',
  'chat.update',
  'chat.getPermalink',
  'reactions.add',
  'reactions.remove',
  'conversations.replies',
  'conversations.info',
  'agents.sessions.setStatus',
  'agents.sessions.rename',
] as const;

/**
 * A stand-in for Slack's Web API: answers the methods Patchbay uses with Slack-shaped bodies
 * (`{ ok: true, … }`, `{ ok: false, error }`), checks the bot token, and records every call. With
 * `agent: false` the app is not declared as an agent: agents.sessions.* answer `missing_scope`.
 * With `socketUrl`, apps.connections.open (app token only) hands out that websocket URL for Socket
 * Mode; the websocket itself is the caller's.
 */
export async function startSlackStandIn(
  opts: {
    team?: string;
    botUserId?: string;
    botId?: string;
    agent?: boolean;
    channels?: Record<string, string>;
    /** `ws://…` that apps.connections.open answers; without it the method is unknown here. */
    socketUrl?: string;
  } = {},
): Promise<SlackStandIn> {
  const standIn = await startHttpStandIn({ prefix: '/api' });
  const team = opts.team ?? 'T0PATCH';
  const botUserId = opts.botUserId ?? 'UPATCHBOT';
  const token = `xoxb-stand-in-${Math.random().toString(36).slice(2)}`;
  const appToken = `xapp-1-stand-in-${Math.random().toString(36).slice(2)}`;
  const calls: SlackCall[] = [];
  const failures = new Map<string, Array<{ status: number; retryAfter?: number; error?: string }>>();
  const threads = new Map<string, SlackMessage[]>();
  let clock = 1_700_000_000;
  let seq = 0;
  let tickets = 0;
  const nextTs = () => `${clock++}.${String(++seq).padStart(6, '0')}`;

  const answers: Record<(typeof METHODS)[number], (args: Record<string, string>) => Record<string, unknown>> =
    {
      'auth.test': () => ({
        user_id: botUserId,
        bot_id: opts.botId ?? 'BPATCHBOT',
        team_id: team,
        user: 'patchbay',
        url: 'https://stand-in.slack.example/',
      }),
      'chat.postMessage': (a) => {
        const ts = nextTs();
        return { channel: a.channel, ts, message: { ts, text: a.text, thread_ts: a.thread_ts } };
      },
      'chat.update': (a) => ({ channel: a.channel, ts: a.ts, text: a.text }),
      'chat.getPermalink': (a) => ({
        channel: a.channel,
        permalink: `https://stand-in.slack.example/archives/${a.channel}/p${(a.message_ts ?? '').replace('.', '')}`,
      }),
      'reactions.add': () => ({}),
      'reactions.remove': () => ({}),
      'conversations.replies': (a) => repliesPage(threads.get(`${a.channel}:${a.ts}`) ?? [], a),
      'conversations.info': (a) => ({
        channel: { id: a.channel, name: opts.channels?.[a.channel ?? ''] ?? 'general' },
      }),
      'agents.sessions.setStatus': (a) =>
        opts.agent ? { status: a.status } : { ok: false, error: 'missing_scope', needed: 'assistant:write' },
      'agents.sessions.rename': () => (opts.agent ? {} : { ok: false, error: 'missing_scope' }),
    };

  function answer(
    method: string,
    expectedToken: string,
    reply: (args: Record<string, string>) => Record<string, unknown>,
  ) {
    standIn.on(`POST /${method}`, (call): StandInReply => {
      const args = parseArgs(call);
      const failure = failures.get(method)?.shift();
      const recorded: SlackCall = { method, args, at: Date.now(), status: failure?.status ?? 200 };
      calls.push(recorded);
      if (failure) {
        const headers: Record<string, string> = failure.retryAfter
          ? { 'retry-after': String(failure.retryAfter) }
          : {};
        return {
          status: failure.status,
          json: { ok: false, error: failure.error ?? 'ratelimited' },
          headers,
        };
      }
      const auth = call.headers.authorization;
      if (auth !== `Bearer ${expectedToken}`) {
        // Slack tells a token of the wrong kind (bot vs app-level) from an unknown one.
        const known = auth === `Bearer ${token}` || auth === `Bearer ${appToken}`;
        return { json: { ok: false, error: known ? 'not_allowed_token_type' : 'invalid_auth' } };
      }
      recorded.result = { ok: true, ...reply(args) };
      return { json: recorded.result };
    });
  }
  for (const method of METHODS) answer(method, token, answers[method]);
  const { socketUrl } = opts;
  if (socketUrl) {
    // https://docs.slack.dev/reference/methods/apps.connections.open: a fresh one-use URL per call.
    answer('apps.connections.open', appToken, () => ({
      url: `${socketUrl}?ticket=${++tickets}&app_id=A0PATCHAPP`,
    }));
  }

  return {
    url: `${standIn.url}/`,
    token,
    appToken,
    botUserId,
    calls,
    unmatched: standIn.unmatched,
    callsTo: (method) => calls.filter((c) => c.method === method && c.status === 200),
    failNext(method, status, retryAfterSeconds, error) {
      const list = failures.get(method) ?? [];
      list.push({ status, retryAfter: retryAfterSeconds, error });
      failures.set(method, list);
    },
    setThread(channel, threadTs, messages) {
      threads.set(`${channel}:${threadTs}`, messages);
    },
    close: () => standIn.close(),
  };
}

/**
 * conversations.replies pages from the oldest message: `limit` per page (all when absent), an opaque
 * `next_cursor` while more follow (https://docs.slack.dev/reference/methods/conversations.replies).
 */
function repliesPage(messages: SlackMessage[], args: Record<string, string>): Record<string, unknown> {
  const offset = args.cursor ? Number(Buffer.from(args.cursor, 'base64').toString('utf8').split(':')[1]) : 0;
  const limit = Number(args.limit) || messages.length || 1;
  const end = offset + limit;
  const next = end < messages.length ? Buffer.from(`offset:${end}`).toString('base64') : '';
  return {
    messages: messages.slice(offset, end),
    has_more: next !== '',
    response_metadata: { next_cursor: next },
  };
}

/** The Web API client sends form-encoded bodies; JSON is accepted too. */
function parseArgs(call: RecordedCall): Record<string, string> {
  if (call.body && typeof call.body === 'object') {
    return Object.fromEntries(
      Object.entries(call.body).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    );
  }
  return Object.fromEntries(new URLSearchParams(call.raw));
}
