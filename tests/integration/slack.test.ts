import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileConfig } from '../../src/config/file-schema.js';
import { buildConfig, parseEnv } from '../../src/config/load-config.js';
import { toRepositoryRules } from '../../src/config/repository-rules.js';
import { PatchbayError } from '../../src/domain/errors.js';
import type { TaskEvent } from '../../src/domain/events.js';
import type { ReplyAddress } from '../../src/domain/reply-address.js';
import { emptyUsage, type TaskRecord } from '../../src/domain/task.js';
import { createSlackIntegration } from '../../src/integrations/slack/create-slack-integration.js';
import { createSlackClients } from '../../src/integrations/slack/slack-client.js';
import { kvKeys } from '../../src/integrations/slack/slack-keys.js';
import { createSlackReporter } from '../../src/integrations/slack/slack-reporter.js';
import { readSlackSettings } from '../../src/integrations/slack/slack-settings.js';
import { createThreadActions } from '../../src/integrations/slack/slack-thread.js';
import { fetchThreadContext } from '../../src/integrations/slack/thread-context.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createRedisConversationStore } from '../../src/queue/redis-conversation-store.js';
import { createRedisInbox } from '../../src/queue/redis-inbox.js';
import { createRedisKeyValue } from '../../src/queue/redis-key-value.js';
import { createHttpServer } from '../../src/server/http-server.js';
import type { TaskServices } from '../../src/server/integration.js';
import { createConversationDoor } from '../../src/tasks/conversation-door.js';
import { createMemoryTaskStore } from '../../src/tasks/memory-stores.js';
import { createManualClock, type ManualClock } from '../fakes/manual-clock.js';
import { REDIS_URL } from '../fakes/redis.js';
import { eventually, nextTs, postToSlackEvents, signSlack, slackEvent } from '../fakes/slack-requests.js';
import { type SlackStandIn, startSlackStandIn } from '../fakes/slack-stand-in.js';

const SECRET = 'integration-signing-secret-0123456789';
const log = createSilentLogger();
let slack: SlackStandIn;
let redis: Redis;
const prefix = `pbtest:slack:${Math.random().toString(36).slice(2)}:`;
const stops: Array<() => Promise<void>> = [];

beforeEach(async () => {
  slack = await startSlackStandIn({ botUserId: 'UPATCHBOT' });
  redis = new Redis(REDIS_URL);
});
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  await slack.close();
  redis.disconnect();
});

function configFor(url: string) {
  const env = parseEnv({ SLACK_BOT_TOKEN: slack.token, SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: url });
  return buildConfig(
    env,
    FileConfig.parse({ repositories: [{ name: 'acme/web' }], budget: { steps: 50, usd: 2 } }),
  );
}

/** Patchbay's Slack route on a real server, with the task services a test gives. */
async function serve(services: Partial<TaskServices>, store: Redis = redis) {
  const config = configFor(slack.url);
  const settings = readSlackSettings(config.env);
  if (!settings) throw new Error('slack should be on');
  const conversations = createRedisConversationStore({ redis: store, prefix, retentionDays: 1 });
  const inbox = createRedisInbox({ redis: store, prefix });
  // The inbox's consumer, reduced to its handler: each accepted mention is handled right after.
  const accept: TaskServices['accept'] = async (entry) => {
    const accepted = await inbox.accept(entry);
    const handler = integration.inboxHandlers?.[entry.kind];
    const read = { ...entry, id: '0-1', acceptedAt: Date.now() };
    if (!accepted.duplicate) setImmediate(() => handler?.(read).catch(() => undefined));
    return accepted;
  };
  const integration = createSlackIntegration({
    settings,
    rules: {
      repositories: toRepositoryRules(config),
      slack: config.file.slack,
      budget: config.file.budget,
      retentionDays: 1,
    },
    clients: createSlackClients(settings, log),
    tasks: {
      submit: async () => {
        throw new Error('not expected');
      },
      cancel: async () => {
        throw new Error('not expected');
      },
      getTask: async () => null,
      accept,
      conversations: createConversationDoor({
        store: createMemoryTaskStore(),
        conversations,
        cancel: async () => {
          throw new Error('not expected');
        },
      }),
      ...services,
    },
    kv: createRedisKeyValue({ redis: store, prefix, namespace: 'slack' }),
    log,
  });
  const http = createHttpServer({ log });
  integration.registerRoutes?.(http);
  const port = await http.listen(0, '127.0.0.1');
  await integration.start?.();
  stops.push(
    () => http.close(),
    async () => integration.stop?.(),
  );
  return `http://127.0.0.1:${port}`;
}

const mention = () =>
  slackEvent('app_mention_channel', { text: '<@UPATCHBOT> fix greet in acme/web', ts: nextTs() });

describe('Slack receiver when the queue is down', () => {
  it('answers 5xx when the mention cannot be accepted, so that Slack retries, and says nothing in the thread', async () => {
    const base = await serve({
      accept: async () => {
        throw new PatchbayError('internal', 'the inbox is unavailable', { permanent: false });
      },
    });

    // The receiver answers once the handler ran; a failed accept leaves nothing in the background.
    const res = await postToSlackEvents(base, SECRET, mention());

    expect(res.status).toBe(503);
    expect(slack.calls.filter((c) => c.method !== 'auth.test')).toEqual([]);
  });

  it('answers 5xx when Redis cannot be reached at all', async () => {
    const dead = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    stops.push(async () => dead.disconnect());
    const { submitted, submit } = acceptingSubmit(); // the queue would take it: only Redis is down
    const base = await serve({ submit }, dead);

    const res = await postToSlackEvents(base, SECRET, mention());

    expect(res.status).toBe(503);
    expect(submitted).toEqual([]);
    expect(slack.callsTo('chat.postMessage')).toEqual([]);
  });
});

describe('Slack replies that start no task', () => {
  it('fails the delivery when the reply could not be posted, so that Slack’s retry posts it, once', async () => {
    const base = await serve({});
    const body = slackEvent('app_mention_channel', { text: '<@UPATCHBOT> fix the flaky test', ts: nextTs() });
    slack.failNext('chat.postMessage', 200, undefined, 'fatal_error');

    const first = await postToSlackEvents(base, SECRET, body);
    const retried = await postToSlackEvents(base, SECRET, body, {
      headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_error' },
    });
    // Replies that start no task are posted before the receiver answers: after `again`, all are in.
    const again = await postToSlackEvents(base, SECRET, body, {
      headers: { 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_error' },
    });

    expect([first.status, retried.status, again.status]).toEqual([503, 200, 200]);
    const asked = slack.callsTo('chat.postMessage').filter((c) => c.result?.ok === true);
    expect(asked).toHaveLength(1);
    expect(asked[0]?.args.text).toMatch(/^Which repository/);
  });
});

describe('Slack receiver signatures', () => {
  it('checks the signature on the bytes received: other bytes that decode to the signed text are rejected', async () => {
    const base = await serve({});
    const signedText = JSON.stringify(
      slackEvent('app_mention_channel', { text: '<@UPATCHBOT> fix greet in acme/web \uFFFD', ts: nextTs() }),
    );
    // 0xFF is not UTF-8: decoded, it becomes U+FFFD, so the decoded text is exactly the signed text.
    const sentBytes = Buffer.concat(
      signedText
        .split('\uFFFD')
        .flatMap((part, i) => (i ? [Buffer.from([0xff]), Buffer.from(part)] : [Buffer.from(part)])),
    );
    const challenge = Buffer.from(JSON.stringify({ type: 'url_verification', challenge: 'café ☕ ok' }));

    const forged = await postToSlackEvents(base, SECRET, sentBytes, {
      unsigned: true,
      headers: signSlack(SECRET, signedText),
    });
    const genuine = await postToSlackEvents(base, SECRET, challenge);

    expect(sentBytes.toString('utf8')).toBe(signedText);
    expect(forged.status).toBe(401);
    expect(genuine.status).toBe(200);
    expect(await genuine.json()).toEqual({ challenge: 'café ☕ ok' });
    expect(slack.calls.filter((c) => c.method !== 'auth.test')).toEqual([]);
  });
});

/** A `submit` that accepts: records what it was given and which Web API calls had been made by then. */
function acceptingSubmit() {
  const submitted: Array<{ input: Record<string, unknown>; callsBefore: string[] }> = [];
  const submit = async (input: unknown) => {
    submitted.push({
      input: input as Record<string, unknown>,
      callsBefore: slack.calls.map((c) => c.method),
    });
    return { kind: 'new' as const, task: aTask() };
  };
  return { submitted, submit };
}

describe('Slack mention: nothing but the thread history before the task is made', () => {
  it('makes the task after auth.test and conversations.replies only; links the message and names the channel once learnt', async () => {
    const { submitted, submit } = acceptingSubmit();
    const base = await serve({ submit });
    const kv = createRedisKeyValue({ redis, prefix, namespace: 'slack' });
    const root = nextTs();
    const inThread = nextTs();

    const first = await postToSlackEvents(
      base,
      SECRET,
      slackEvent('app_mention_thread', {
        text: '<@UPATCHBOT> fix greet in acme/web',
        ts: inThread,
        thread_ts: root,
      }),
    );
    await eventually(() => kv.get(kvKeys.channelName('C0GENERAL'))); // the name learnt after the first
    const second = await postToSlackEvents(base, SECRET, mention());
    await eventually(() => submitted[1]); // made by the inbox's consumer, after the answer

    expect([first.status, second.status]).toEqual([200, 200]);
    expect(submitted[0]?.callsBefore).toEqual(['auth.test', 'conversations.replies']);
    expect(submitted[0]?.input.origin).toMatchObject({
      label: 'Slack channel C0GENERAL',
      url: `https://stand-in.slack.example/archives/C0GENERAL/p${inThread.replace('.', '')}?thread_ts=${root}&cid=C0GENERAL`,
    });
    expect(submitted[1]?.input.origin).toMatchObject({ label: 'Slack #general' });
    expect(slack.callsTo('chat.getPermalink')).toEqual([]);
    expect(slack.callsTo('conversations.info')).toHaveLength(1);
  });
});

describe('Slack thread context', () => {
  function quickClient() {
    const settings = readSlackSettings(configFor(slack.url).env);
    if (!settings) throw new Error('slack should be on');
    return createSlackClients(settings, log).quick;
  }
  /** Every conversations.replies call, the rate-limited ones too. */
  const replies = () => slack.calls.filter((c) => c.method === 'conversations.replies');
  const at = (threadTs: string, beforeTs: string) => ({
    channel: 'C0GENERAL',
    threadTs,
    beforeTs,
    botUserId: 'UPATCHBOT',
  });

  it('pages conversations.replies to the end and keeps the newest 20,000 characters before the mention', async () => {
    const root = nextTs();
    const messages = Array.from({ length: 450 }, (_, i) => ({
      ts: `${1_720_000_000 + i}.000100`,
      user: 'U0BOB',
      text: `message ${i} ${'x'.repeat(90)}`,
    }));
    const mentionTs = messages[440]?.ts ?? '';
    slack.setThread('C0GENERAL', root, messages);

    const context = await fetchThreadContext({ client: quickClient(), log }, at(root, mentionTs));

    const pages = slack.callsTo('conversations.replies');
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages.at(-1)?.args.cursor).toBeTruthy();
    expect(context).toContain('U0BOB: message 439 ');
    expect(context).not.toContain('message 440 ');
    expect(context).not.toContain('message 0 ');
    expect(context?.length).toBeLessThanOrEqual(20_100);
    expect(context?.length).toBeGreaterThan(19_000);
  });

  it('waits out a short Retry-After once, within the 1.5 s cap, instead of dropping the context', async () => {
    const clock = createManualClock();
    const root = nextTs();
    const mentionTs = nextTs();
    slack.setThread('C0GENERAL', root, [{ ts: root, user: 'U0BOB', text: 'greet() lost its comma' }]);
    slack.failNext('conversations.replies', 429, 1);

    const reading = fetchThreadContext({ client: quickClient(), log, clock }, at(root, mentionTs));
    await clock.waitForTimer(1_000); // Retry-After, waited out on the clock
    const askedDuringTheWait = replies().map((c) => c.status);
    clock.advance(1_000);
    const context = await reading;

    expect(askedDuringTheWait).toEqual([429]);
    expect(replies().map((c) => c.status)).toEqual([429, 200]);
    expect(context).toContain('U0BOB: greet() lost its comma');
  });

  it('gives up at once when Retry-After would not fit in the cap', async () => {
    const clock = createManualClock();
    const root = nextTs();
    slack.setThread('C0GENERAL', root, [{ ts: root, user: 'U0BOB', text: 'greet() lost its comma' }]);
    slack.failNext('conversations.replies', 429, 30);

    const context = await fetchThreadContext({ client: quickClient(), log, clock }, at(root, nextTs()));

    expect(context).toBeUndefined();
    expect(replies().map((c) => c.status)).toEqual([429]);
    expect(clock.pending()).toEqual([]); // answered without the clock moving: nothing was waited for
  });
});

describe('Slack agent sessions where the app is not an agent', () => {
  it('asks Slack once per workspace and hour, remembered in Redis for other processes and in memory here', async () => {
    const settings = readSlackSettings(configFor(slack.url).env);
    if (!settings) throw new Error('slack should be on');
    const stored = createRedisKeyValue({ redis, prefix: `${prefix}sessions:`, namespace: 'slack' });
    // The Redis store itself, counting its reads of the flag.
    let reads = 0;
    const kv = {
      ...stored,
      get: (k: string) => {
        if (k === kvKeys.agentApp('T0PATCH')) reads += 1;
        return stored.get(k);
      },
    };
    const actionsIn = () =>
      createThreadActions({ client: createSlackClients(settings, log).patient, kv, log, retentionDays: 1 });
    const thread = (ts: string) => ({
      team: 'T0PATCH',
      channel: 'C0GENERAL',
      threadTs: ts,
      conversation: `slack:T0PATCH:C0GENERAL:${ts}`,
    });
    const asked = () => slack.callsTo('agents.sessions.setStatus').length;

    const first = actionsIn();
    expect(await first.openSession(thread(nextTs()), 'fix greet', 'U0ALICE')).toBe(false);
    expect(asked()).toBe(1);
    expect(await redis.get(`${prefix}sessions:kv:slack:${kvKeys.agentApp('T0PATCH')}`)).toBe('0');
    const readsBefore = reads;
    expect(await first.openSession(thread(nextTs()), 'fix greet', 'U0ALICE')).toBe(false);
    expect(await first.openSession(thread(nextTs()), 'fix greet', 'U0ALICE')).toBe(false);
    // Known here: neither Slack nor Redis is asked again.
    expect(asked()).toBe(1);
    expect(reads).toBe(readsBefore);

    // Another process learns it from Redis, once, and does not ask Slack.
    const second = actionsIn();
    expect(await second.openSession(thread(nextTs()), 'fix greet', 'U0ALICE')).toBe(false);
    expect(await second.openSession(thread(nextTs()), 'fix greet', 'U0ALICE')).toBe(false);
    expect(asked()).toBe(1);
    expect(reads).toBe(readsBefore + 1);
  });
});

/** The thread a task of aTask() was asked in. */
function threadOf(task: TaskRecord): ReplyAddress[] {
  const [, team = '', channel = '', threadTs = ''] = task.conversation.split(':');
  return [{ kind: 'slack-thread', team, channel, threadTs, messageTs: threadTs }];
}

function aTask(overrides: Partial<TaskRecord> = {}): TaskRecord {
  const now = new Date().toISOString();
  const ts = nextTs();
  return {
    id: `t${Math.random().toString(36).slice(2, 10)}`,
    conversation: `slack:T0PATCH:C0GENERAL:${ts}`,
    request: {
      repo: 'acme/web',
      instruction: 'fix greet',
      conversation: `slack:T0PATCH:C0GENERAL:${ts}`,
      origin: { source: 'slack', label: 'Slack #general', requester: 'U0ALICE' },
    },
    status: 'running',
    steps: 0,
    attempts: 1,
    runs: 1,
    usage: { ...emptyUsage(), usd: 0.01 },
    checks: [],
    createdAt: now,
    updatedAt: now,
    startedAt: now,
    ...overrides,
  };
}

function aReporter(editIntervalMs: number, clock: ManualClock) {
  const config = configFor(slack.url);
  const settings = readSlackSettings(config.env);
  if (!settings) throw new Error('slack should be on');
  const kv = createRedisKeyValue({ redis, prefix, namespace: 'slack' });
  const actions = createThreadActions({
    client: createSlackClients(settings, log).patient,
    kv,
    log,
    retentionDays: 1,
  });
  return createSlackReporter({
    actions,
    kv,
    budget: config.file.budget,
    retentionDays: 1,
    log,
    editIntervalMs,
    clock,
  });
}

const step = (task: TaskRecord, n: number): TaskEvent => ({
  type: 'step',
  task: { ...task, steps: n },
  step: { step: n, tool: 'bash', detail: `bash: echo ${n}`, usage: task.usage, elapsedMs: n * 10 },
});
const finished = (task: TaskRecord): TaskEvent => ({
  type: 'finished',
  task: { ...task, status: 'succeeded', steps: 30, title: 'Fix <!channel> greet' },
  pullRequest: { number: 7, url: 'http://github.example/acme/web/pull/7' },
  summary: 'Done. <!channel> look',
  checks: [{ command: 'npm test', exitCode: 1, timedOut: false, output: '', durationMs: 5 }],
});

describe('Slack reporter', () => {
  it('posts one status message per run, edits it at most once per interval with the latest step, and the final state at once', async () => {
    const clock = createManualClock();
    const reporter = aReporter(400, clock);
    const task = aTask();
    const started = clock.now();
    /** When each chat.update was made, in ms on the reporter's clock since the run started. */
    const editedAt: number[] = [];
    const noteEdits = () => {
      while (slack.callsTo('chat.update').length > editedAt.length) editedAt.push(clock.now() - started);
    };

    await reporter.report({ type: 'started', task, stage: 'clone' }, threadOf(task));
    await reporter.settled();
    for (let n = 1; n <= 30; n += 1) {
      await reporter.report(step(task, n), threadOf(task)); // 20 ms apart: steps 1 to 30 at 0 to 580 ms
      await reporter.settled();
      noteEdits();
      clock.advance(20);
      await reporter.settled();
      noteEdits();
    }
    await reporter.report(finished(task), threadOf(task));
    await reporter.idle();
    noteEdits();

    const posts = slack.callsTo('chat.postMessage');
    const edits = slack.callsTo('chat.update');
    expect(posts).toHaveLength(2); // the status message and the result
    expect(editedAt).toEqual([400, 600]); // step 20 when the interval was over; the end at once
    expect(edits.every((e) => e.args.ts === posts[0]?.result?.ts)).toBe(true);
    expect(posts[0]?.args.text).toMatch(/^⏳ /);
    expect(edits[0]?.args.text).toMatch(/Step 20 of 50: `bash: echo 20` · 0:0\d elapsed · \$0.01 of \$2.00/);
    expect(edits[1]?.args.text).toMatch(/^✅ /);
    expect(posts[1]?.args.text).toContain('<http://github.example/acme/web/pull/7|Pull request #7>');
    expect(posts[1]?.args.text).toContain('&lt;!channel&gt;');
    expect(posts[1]?.args.text).not.toContain('<!channel>');
    expect(posts[1]?.args.text).toContain('❌ `npm test` (exit 1)');
    expect(slack.callsTo('reactions.add')[0]?.args).toMatchObject({ name: 'white_check_mark' });
  });

  it('waits out a 429 on chat.update for Retry-After, without holding up the task, and loses no final message', async () => {
    const clock = createManualClock();
    const reporter = aReporter(100, clock);
    const task = aTask();
    await reporter.report({ type: 'started', task, stage: 'clone' }, threadOf(task));
    await reporter.settled();
    clock.advance(100);
    slack.failNext('chat.update', 429, 1);

    await reporter.report(step(task, 1), threadOf(task)); // its edit is due at once, and meets the 429
    const updatesWhenStepReturned = slack.callsTo('chat.update').length;
    await reporter.report(step(task, 2), threadOf(task));
    await reporter.report(finished(task), threadOf(task));
    await reporter.idle();

    const updates = slack.calls.filter((c) => c.method === 'chat.update');
    const limited = updates.find((c) => c.status === 429);
    const retried = updates.find((c) => c.status === 200);
    expect(updatesWhenStepReturned).toBe(0);
    expect(limited?.args.text).toMatch(/Step 1 of 50/);
    expect(retried?.args.text).toBe(limited?.args.text);
    // The Web API client's own wait, in real time: a lower bound, which load can only lengthen.
    expect((retried?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(updates.at(-1)?.args.text).toMatch(/^✅ /);
    expect(slack.callsTo('chat.postMessage').map((c) => c.args.text?.split(' ')[0])).toEqual(['⏳', '✅']);
    expect(slack.unmatched).toEqual([]);
  });
});
