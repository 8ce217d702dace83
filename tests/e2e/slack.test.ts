import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { shortHash } from '../../src/lib/ids.js';
import { type Harness, isFinal, logged, queuedTaskIds, REPO, startHarness } from '../fakes/harness.js';
import { REDIS_URL } from '../fakes/redis.js';
import { ADD_CHANGELOG, FIX_GREETING } from '../fakes/scripts.js';
import { SLACK_BOT, SLACK_SECRET, slackPerTest } from '../fakes/slack-per-test.js';
import { eventually, nextTs, postToSlackEvents, slackEvent } from '../fakes/slack-requests.js';
import { type SlackCall, type SlackStandIn, startSlackStandIn } from '../fakes/slack-stand-in.js';
import { startSocketModeSlack } from '../fakes/socket-mode-slack.js';

const SECRET = SLACK_SECRET;
const BOT = SLACK_BOT;
const start = slackPerTest();

/** The inbox's claim of each delivery (the task id it was accepted as), or null when none was accepted. */
async function acceptedClaims(h: Harness, bodies: object[]) {
  const redis = new Redis(REDIS_URL);
  const prefix = h.workerProcessEnv.PATCHBAY_REDIS_PREFIX;
  try {
    return await Promise.all(
      bodies.map((b) =>
        redis.get(
          `${prefix}{inbox}:inbox-delivery:${shortHash(`slack:${String((b as { event_id?: unknown }).event_id)}`, 32)}`,
        ),
      ),
    );
  } finally {
    redis.disconnect();
  }
}

const taskIdIn = (call: SlackCall | undefined) => /task `(t[0-9a-z]+)`/.exec(call?.args.text ?? '')?.[1];

describe('Slack: mention → thread', () => {
  it('answers a mention with 👀 and then a reply, edits one status message, ends with ✅ and the PR', async () => {
    const { h, slack, mention, posts, reactions } = await start(FIX_GREETING);

    const { res, ts } = await mention('fix the greeting punctuation in acme/web');
    const accepted = await eventually(() => posts(ts)[0], 20_000, 'accept reply');
    const eyes = await eventually(() => reactions(ts).find((c) => c.args.name === 'eyes'), 20_000, '👀');
    const taskId = taskIdIn(accepted) ?? '';
    const task = await h.waitFor(taskId, isFinal);
    const done = await eventually(
      () => reactions(ts).find((c) => c.args.name === 'white_check_mark'),
      20_000,
      '✅',
    );

    expect(res.status).toBe(200);
    expect(slack.calls.indexOf(eyes)).toBeLessThan(slack.calls.indexOf(accepted)); // 👀, then the reply
    expect(accepted.args.text).toContain('`acme/web`');
    expect(accepted.args.text).toMatch(/base the repository's default branch|base `main`/);
    expect(task.status).toBe('succeeded');
    expect(done).toBeDefined();
    const thread = posts(ts);
    expect(thread).toHaveLength(3); // what was understood, the status message, the result
    const status = thread[1];
    const edits = slack.callsTo('chat.update').filter((c) => c.args.ts === status?.result?.ts);
    expect(edits.length).toBeGreaterThanOrEqual(1);
    expect(edits.at(-1)?.args.text).toMatch(/^✅ .*\nDone · 4 steps · \d+:\d\d · /);
    const result = thread[2]?.args.text ?? '';
    expect(result).toContain(`|Pull request #${task.pullRequest?.number}>`);
    expect(result).toContain(task.pullRequest?.url ?? 'no url');
    expect(result).toContain('greet() now puts a comma after Hello.');
    expect(result).toMatch(/✅ `node test\.js`/);
    expect(slack.unmatched).toEqual([]);
  });

  it('routes to the repository named in the message, then the channel default, then the workspace default', async () => {
    const { mention, posts } = await start([], {
      worker: false,
      file: {
        repositories: [{ name: REPO }, { name: 'acme/api', base: 'develop' }],
        slack: { channels: { C0API: 'acme/api' }, repository: REPO },
      },
    });

    const named = await mention('in the api channel but fix acme/web please', { channel: 'C0API' });
    const byUrl = await mention('see https://github.com/acme/api/issues/3', { channel: 'C0GENERAL' });
    const channel = await mention('make the tests faster', { channel: 'C0API' });
    const workspace = await mention('make the tests faster', { channel: 'C0GENERAL' });
    const replies = await eventually(() => {
      const all = [named, byUrl, channel, workspace].map((m) => posts(m.ts)[0]?.args.text);
      return all.every(Boolean) ? all : null;
    });

    expect(replies[0]).toContain('`acme/web`');
    expect(replies[1]).toContain('`acme/api`, base `develop`');
    expect(replies[2]).toContain('`acme/api`');
    expect(replies[3]).toContain('`acme/web`');
    expect(replies.every((r) => /task `t[0-9a-z]+`/.test(r ?? ''))).toBe(true);
  });

  it('asks in the thread when the repository is unknown or not allowed, refuses people outside slack.users, and starts nothing', async () => {
    const { h, mention, posts, slack } = await start(FIX_GREETING, {
      file: { slack: { users: ['U0ALICE'] } },
    });

    const unknown = await mention('fix the flaky login test');
    const forbidden = await mention('fix it repo=evil/app');
    const stranger = await mention('fix the greeting in acme/web', { user: 'U0MALLORY' });
    const replies = await eventually(() => {
      const all = [unknown, forbidden, stranger].map((m) => posts(m.ts)[0]?.args.text);
      return all.every(Boolean) ? all : null;
    });

    // Each was answered after its handler ran: a task would have been logged as queued by then.
    expect(queuedTaskIds(h)).toEqual([]);
    expect([unknown.res.status, forbidden.res.status, stranger.res.status]).toEqual([200, 200, 200]);
    expect(replies[0]).toMatch(/Which repository.*`acme\/web`/);
    expect(replies[1]).toMatch(/not allowed to work on `evil\/app`.*`acme\/web`/);
    expect(replies[2]).toMatch(/^Sorry <@U0MALLORY>/);
    expect(slack.callsTo('reactions.add')).toEqual([]);
    expect(h.model.requests).toHaveLength(0);
    expect([unknown, forbidden, stranger].every((m) => posts(m.ts).length === 1)).toBe(true);
  });

  it('gives the earlier messages of the thread to the agent as untrusted context', async () => {
    const { h, slack, send, posts } = await start(FIX_GREETING);
    const root = nextTs();
    const ts = nextTs();
    slack.setThread('C0GENERAL', root, [
      { ts: root, user: 'U0BOB', text: 'greet() says &lt;Hello x&gt; without a comma since Monday' },
      { ts: nextTs(), bot_id: 'BPATCHBOT', user: BOT, text: 'an earlier status message' },
      { ts, user: 'U0ALICE', text: `<@${BOT}> can you take care of this in acme/web?` },
    ]);

    await send(
      slackEvent('app_mention_thread', {
        text: `<@${BOT}> can you take care of this in acme/web?`,
        ts,
        thread_ts: root,
      }),
    );
    const taskId = taskIdIn(await eventually(() => posts(root)[0])) ?? '';
    await h.waitFor(taskId, isFinal);

    const first = JSON.stringify(h.model.requests[0]?.body);
    expect(first).toContain('<untrusted source=\\"context\\">');
    expect(first).toContain('U0BOB: greet() says <Hello x> without a comma since Monday');
    expect(first).not.toContain('an earlier status message');
    expect(slack.callsTo('conversations.replies')[0]?.args).toMatchObject({ channel: 'C0GENERAL', ts: root });
  });
});

describe('Slack: follow-ups, questions, stop', () => {
  it('takes a mention in the thread as a follow-up on the same branch and pull request', async () => {
    const { h, send, mention, posts, reactions } = await start([...FIX_GREETING, ...ADD_CHANGELOG]);
    const first = await mention('fix the greeting punctuation in acme/web');
    const firstId = taskIdIn(await eventually(() => posts(first.ts)[0])) ?? '';
    const firstTask = await h.waitFor(firstId, isFinal);
    await eventually(() => reactions(first.ts).find((c) => c.args.name === 'white_check_mark'));

    const ts = nextTs();
    await send(
      slackEvent('app_mention_thread', {
        text: `<@${BOT}> also add a changelog entry`,
        ts,
        thread_ts: first.ts,
      }),
    );
    const reply = await eventually(() => posts(first.ts).find((c) => c.args.text?.includes('Follow-up on')));
    const secondTask = await h.waitFor(taskIdIn(reply) ?? '', isFinal);

    expect(secondTask.id).not.toBe(firstId);
    expect(secondTask.status).toBe('succeeded');
    expect(secondTask.branch).toBe(firstTask.branch);
    expect(secondTask.pullRequest?.number).toBe(firstTask.pullRequest?.number);
    expect(h.github.pulls).toHaveLength(1);
    expect(reply.args.text).toContain(`PR #${firstTask.pullRequest?.number}`);
  });

  it('routes a follow-up to the thread’s repository while its first task is still queued, or was cancelled while queued', async () => {
    const { h, send, mention, posts } = await start([], { worker: false });
    const { ts } = await mention('fix the greeting punctuation in acme/web');
    const first = taskIdIn(await eventually(() => posts(ts)[0])) ?? '';
    const followUp = (text: string) =>
      send(slackEvent('app_mention_thread', { text: `<@${BOT}> ${text}`, ts: nextTs(), thread_ts: ts }));
    const accepted = () => posts(ts).filter((c) => c.args.text?.startsWith('👀 On it'));

    await followUp('also add a changelog entry');
    const whileQueued = await eventually(() => accepted()[1]);
    const second = taskIdIn(whileQueued) ?? '';
    await followUp('stop');
    await h.waitFor(second, (t) => t.status === 'cancelled');
    await followUp('then just fix the comma');
    const afterCancel = await eventually(() => accepted()[2]);

    expect((await h.getTask(first)).status).toBe('queued');
    expect(whileQueued.args.text).toContain('`acme/web`');
    expect(afterCancel.args.text).toContain('`acme/web`');
    expect(posts(ts).some((c) => c.args.text?.includes('Which repository'))).toBe(false);
  });

  it('answers the agent’s question with a plain reply in the thread, and says the status when asked', async () => {
    const { h, send, mention, posts } = await start([
      { tool: 'ask_user', args: { question: 'Comma or colon?' } },
      {
        tool: 'write_file',
        args: { path: 'src/greet.js', content: 'export const greet = (n) => `Hello, ${n}`;\n' },
      },
      { tool: 'finish', args: { title: 'Use a comma', summary: 'As answered.' } },
    ]);
    const { ts } = await mention('fix greet in acme/web');
    const taskId = taskIdIn(await eventually(() => posts(ts)[0])) ?? '';
    await h.waitFor(taskId, (t) => t.status === 'waiting_for_input');
    const question = await eventually(() => posts(ts).find((c) => c.args.text?.includes('Comma or colon?')));

    await send(slackEvent('app_mention_thread', { text: `<@${BOT}> status`, ts: nextTs(), thread_ts: ts }));
    const status = await eventually(() => posts(ts).find((c) => c.args.text?.startsWith('Task `')));
    await send(slackEvent('message_thread', { text: 'a comma, please', ts: nextTs(), thread_ts: ts }));
    const done = await h.waitFor(taskId, isFinal);

    expect(question.args.text).toContain('Reply in this thread to answer.');
    expect(status.args.text).toContain('*waiting for input*');
    expect(done.status).toBe('succeeded');
    expect(JSON.stringify(h.model.requests.at(-2)?.body)).toContain('a comma, please');
    expect(posts(ts).some((c) => c.args.text?.includes(`task \`${taskId}\` goes on`))).toBe(true);
  });

  it('takes a reply also sent to the channel (thread_broadcast) and a reply with a file (file_share) as answers', async () => {
    const { h, send, mention, posts } = await start([
      { tool: 'ask_user', args: { question: 'Comma or colon?' } },
      { tool: 'ask_user', args: { question: 'Any log to look at?' } },
      { tool: 'finish', args: { title: 'Nothing to change', summary: 'As answered.' } },
    ]);
    const { ts } = await mention('fix greet in acme/web');
    const taskId = taskIdIn(await eventually(() => posts(ts)[0])) ?? '';
    const asked = (n: number) => async () => {
      const t = await h.getTask(taskId);
      return t.status === 'waiting_for_input' && h.model.requests.length === n;
    };
    await eventually(asked(1));

    await send(
      slackEvent('message_thread', {
        subtype: 'thread_broadcast',
        text: 'a comma, please',
        ts: nextTs(),
        thread_ts: ts,
        root: { ts, user: 'U0ALICE', text: `<@${BOT}> fix greet in acme/web` },
      }),
    );
    await eventually(asked(2));
    await send(
      slackEvent('message_thread', {
        subtype: 'file_share',
        text: 'here is the log',
        ts: nextTs(),
        thread_ts: ts,
        files: [{ id: 'F0LOG', name: 'test.log', mimetype: 'text/plain' }],
      }),
    );
    const done = await h.waitFor(taskId, isFinal);

    expect(done.status).toBe('succeeded');
    const prompts = JSON.stringify(h.model.requests.map((r) => r.body));
    expect(prompts).toContain('a comma, please');
    expect(prompts).toContain('here is the log');
  });

  it('starts nothing for another app’s bot or its own user, and refuses people of another organisation in a shared channel', async () => {
    const { h, mention, posts } = await start(FIX_GREETING);

    const bot = await mention('fix the greeting in acme/web', { user: 'U0OTHERBOT', bot_id: 'B0OTHER' });
    const self = await mention('fix the greeting in acme/web', { user: BOT });
    const outsider = await mention('fix the greeting in acme/web', {
      user: 'U0GUEST',
      user_team: 'T0ELSEWHERE',
    });
    const refusal = await eventually(() => posts(outsider.ts)[0]);

    // Both were answered after their handlers ran: nothing was queued, so nothing follows.
    expect(queuedTaskIds(h)).toEqual([]);
    expect([bot.res.status, self.res.status, outsider.res.status]).toEqual([200, 200, 200]);
    // Nothing was accepted for either (an accepted mention's claim is written before its 200).
    expect(await acceptedClaims(h, [bot.body, self.body])).toEqual([null, null]);
    expect(posts(bot.ts)).toEqual([]);
    expect(posts(self.ts)).toEqual([]);
    expect(refusal.args.text).toMatch(/^Sorry, I only take requests from people in this workspace/);
    expect(h.model.requests).toHaveLength(0);
  });

  it('does not let a retried "stop" stop the thread’s next task', async () => {
    const { h, send, mention, posts } = await start([
      { tool: 'bash', args: { command: 'sleep 60' } },
      ...FIX_GREETING,
    ]);
    const { ts } = await mention('take your time in acme/web');
    const first = taskIdIn(await eventually(() => posts(ts)[0])) ?? '';
    await h.waitFor(first, (t) => t.status === 'running' && h.model.requests.length === 1);
    const stop = slackEvent('app_mention_thread', { text: `<@${BOT}> stop`, ts: nextTs(), thread_ts: ts });
    await send(stop);
    await h.waitFor(first, isFinal, 20_000);

    await send(
      slackEvent('app_mention_thread', {
        text: `<@${BOT}> fix the greeting instead`,
        ts: nextTs(),
        thread_ts: ts,
      }),
    );
    const second = await eventually(() =>
      posts(ts)
        .map(taskIdIn)
        .find((id) => id && id !== first),
    );
    await h.waitFor(second, (t) => t.status === 'running');
    const retried = await send(stop, {
      headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    });
    const task = await h.waitFor(second, isFinal);

    expect(retried.status).toBe(200);
    expect((await h.getTask(first)).status).toBe('cancelled');
    expect(task.status).toBe('succeeded');
  });

  it('stops a running task on "@patchbay stop"', async () => {
    const { h, send, mention, posts, reactions } = await start([
      { tool: 'bash', args: { command: 'sleep 60' } },
    ]);
    const { ts } = await mention('take your time in acme/web');
    const taskId = taskIdIn(await eventually(() => posts(ts)[0])) ?? '';
    await h.waitFor(taskId, (t) => t.status === 'running' && h.model.requests.length === 1);

    await send(slackEvent('app_mention_thread', { text: `<@${BOT}> stop`, ts: nextTs(), thread_ts: ts }));
    const task = await h.waitFor(taskId, isFinal, 20_000);
    const stopped = await eventually(() => posts(ts).find((c) => c.args.text?.startsWith('🛑 Stopped.')));

    expect(task.status).toBe('cancelled');
    expect(posts(ts).some((c) => c.args.text?.startsWith('🛑 Stopping task'))).toBe(true);
    expect(stopped).toBeDefined();
    expect(await eventually(() => reactions(ts).find((c) => c.args.name === 'octagonal_sign'))).toBeDefined();
  });

  it('stops on a person’s ❌ on the bot’s message, and ignores the bot’s own reactions', async () => {
    const { h, send, mention, posts } = await start([{ tool: 'bash', args: { command: 'sleep 60' } }]);
    const { ts } = await mention('take your time in acme/web');
    const accepted = await eventually(() => posts(ts)[0]);
    const taskId = taskIdIn(accepted) ?? '';
    await h.waitFor(taskId, (t) => t.status === 'running' && h.model.requests.length === 1);
    const item = { type: 'message', channel: 'C0GENERAL', ts: accepted.result?.ts };

    const request = { type: 'message', channel: 'C0GENERAL', ts };

    const ignored = [
      await send(slackEvent('reaction_added', { user: BOT, item, item_user: BOT })),
      // What the bot itself does at the end of a run: ✅ or ❌ on the requester's message.
      await send(
        slackEvent('reaction_added', { user: BOT, reaction: 'x', item: request, item_user: 'U0ALICE' }),
      ),
      await send(
        slackEvent('reaction_added', {
          user: BOT,
          reaction: 'white_check_mark',
          item: request,
          item_user: 'U0ALICE',
        }),
      ),
      // A person's ❌ on a message that is not the bot's (here the request itself).
      await send(
        slackEvent('reaction_added', { user: 'U0BOB', reaction: 'x', item: request, item_user: 'U0ALICE' }),
      ),
    ];
    // Each was answered after its handler ran; a stop would have been logged by then.
    const stopsAfterIgnored = logged(h, 'slack stop requested');
    const stillRunning = await h.getTask(taskId);
    const person = await send(slackEvent('reaction_added', { user: 'U0ALICE', item, item_user: BOT }));
    const task = await h.waitFor(taskId, isFinal, 20_000);

    expect([...ignored, person].map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(stopsAfterIgnored).toEqual([]);
    expect(logged(h, 'slack stop requested').map((entry) => entry.by)).toEqual(['U0ALICE']);
    expect(stillRunning.status).toBe('running');
    expect(task.status).toBe('cancelled');
  });
});

describe('Slack: who may act', () => {
  it('lets nobody outside slack.users stop a run: not by mention, ❌ or Slack’s stop button', async () => {
    const { h, send, mention, posts } = await start([{ tool: 'bash', args: { command: 'sleep 60' } }], {
      file: { slack: { users: ['U0ALICE'] } },
    });
    const { ts } = await mention('take your time in acme/web');
    const accepted = await eventually(() => posts(ts)[0]);
    const taskId = taskIdIn(accepted) ?? '';
    await h.waitFor(taskId, (t) => t.status === 'running' && h.model.requests.length === 1);
    const item = { type: 'message', channel: 'C0GENERAL', ts: accepted.result?.ts };

    const attempts = [
      await send(
        slackEvent('app_mention_thread', {
          user: 'U0MALLORY',
          text: `<@${BOT}> stop`,
          ts: nextTs(),
          thread_ts: ts,
        }),
      ),
      await send(slackEvent('reaction_added', { user: 'U0MALLORY', item, item_user: BOT })),
      await send(slackEvent('agent_session_stopped', { user: 'U0MALLORY', thread_ts: ts })),
    ];
    // Each was answered after its handler ran (refusals are posted before the answer); a stop would
    // have been logged by then.
    const stopsByMallory = logged(h, 'slack stop requested');
    const afterwards = await h.getTask(taskId);
    await send(slackEvent('app_mention_thread', { text: `<@${BOT}> stop`, ts: nextTs(), thread_ts: ts }));
    const stopped = await h.waitFor(taskId, isFinal, 20_000);

    expect(attempts.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(stopsByMallory).toEqual([]);
    expect(afterwards.status).toBe('running');
    expect(posts(ts).filter((c) => c.args.text?.startsWith('Sorry <@U0MALLORY>'))).toHaveLength(2);
    expect(stopped.status).toBe('cancelled');
  });

  it('takes no answer from someone outside slack.users, and refuses a mention outside slack.allowed_channels', async () => {
    const { h, send, mention, posts } = await start(
      [
        { tool: 'ask_user', args: { question: 'Comma or colon?' } },
        { tool: 'finish', args: { title: 'Nothing to change', summary: 'As answered.' } },
      ],
      { file: { slack: { users: ['U0ALICE'], allowed_channels: ['C0GENERAL'] } } },
    );
    const { ts } = await mention('fix greet in acme/web');
    const taskId = taskIdIn(await eventually(() => posts(ts)[0])) ?? '';
    await h.waitFor(taskId, (t) => t.status === 'waiting_for_input');

    const answer = await send(
      slackEvent('message_thread', {
        user: 'U0MALLORY',
        text: 'a colon, obviously',
        ts: nextTs(),
        thread_ts: ts,
      }),
    );
    const refusal = await eventually(() =>
      posts(ts).find((c) => c.args.text?.startsWith('Sorry <@U0MALLORY>')),
    );
    const elsewhere = await mention('fix greet in acme/web', { channel: 'C0RANDOM' });
    const channelRefusal = await eventually(() => posts(elsewhere.ts)[0]);
    // Both were answered after their handlers ran: an answer or a task would have been logged by then.
    const answersQueued = logged(h, 'answer queued');
    const stillWaiting = await h.getTask(taskId);

    expect([answer.status, elsewhere.res.status]).toEqual([200, 200]);
    expect(refusal).toBeDefined();
    expect(answersQueued).toEqual([]);
    expect(queuedTaskIds(h)).toEqual([taskId]);
    expect(stillWaiting.status).toBe('waiting_for_input');
    expect(JSON.stringify(h.model.requests)).not.toContain('a colon, obviously');
    expect(channelRefusal.args.text).toMatch(/^Sorry, I don't take requests in this channel/);
    expect(channelRefusal.args.channel).toBe('C0RANDOM');
    expect(posts(elsewhere.ts)).toHaveLength(1);
    expect(h.model.requests).toHaveLength(1);
  });
});

describe('Slack: deliveries', () => {
  it('makes one task of a retried event and of a duplicate event_id', async () => {
    const { h, send, posts, reactions } = await start([], { worker: false });
    const ts = nextTs();
    const body = slackEvent('app_mention_channel', { text: `<@${BOT}> fix greet in acme/web`, ts });

    const first = await send(body);
    const retried = await send(body, {
      headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    });
    const again = await send(body);
    await eventually(() => posts(ts)[0]); // the first's 👀 and reply, in that order, in the background

    // The repeats were answered after their handlers found the first task: they queued nothing and
    // started nothing in the background.
    expect(queuedTaskIds(h)).toHaveLength(1);
    expect([first.status, retried.status, again.status]).toEqual([200, 200, 200]);
    expect(posts(ts)).toHaveLength(1);
    expect(reactions(ts)).toHaveLength(1);
  });

  it('rejects forged, unsigned and stale requests and malformed bodies, and answers url_verification', async () => {
    const { h, send, slack } = await start([], { worker: false });
    const body = slackEvent('app_mention_channel', { text: `<@${BOT}> fix greet in acme/web`, ts: nextTs() });
    const raw = JSON.stringify(body);

    const forged = await postToSlackEvents(h.base, 'not-the-secret', raw);
    const unsigned = await send(raw, { unsigned: true });
    const stale = await send(raw, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    const tampered = await send(raw, {
      headers: { 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000) - 1) },
    });
    const malformed = await send('{"type": "event_callback", "event":');
    const notAnEvent = await send({ type: 'event_callback', event_id: 'Ev1' });
    // Each answer comes after its handler ran, if it reached one; none leaves work in the background.
    const challenge = await send(slackEvent('url_verification'));

    expect([forged.status, unsigned.status, stale.status, tampered.status]).toEqual([401, 401, 401, 401]);
    expect([malformed.status, notAnEvent.status]).toEqual([400, 400]);
    expect(await challenge.json()).toEqual({
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
    });
    expect(slack.calls.filter((c) => c.method !== 'auth.test')).toEqual([]);
    expect(h.logLines.join('')).not.toContain('fix greet');
    expect(h.logLines.join('')).not.toContain(SECRET);
  });
});

describe('Slack agent sessions', () => {
  it('drives the thread’s agent session: processing while working, closed at the end', async () => {
    const { h, mention, posts, slack } = await start(FIX_GREETING, { agent: true });
    const { ts } = await mention('fix the greeting punctuation in acme/web');
    const taskId = taskIdIn(await eventually(() => posts(ts)[0])) ?? '';
    await h.waitFor(taskId, isFinal);
    const statuses = await eventually(() => {
      const calls = slack.callsTo('agents.sessions.setStatus');
      return calls.at(-1)?.args.status === 'closed' ? calls : null;
    });

    expect(statuses[0]?.args).toMatchObject({
      channel_id: 'C0GENERAL',
      thread_ts: ts,
      status: 'processing',
      title: 'fix the greeting punctuation in acme/web',
      initiator_user_id: 'U0ALICE',
    });
    expect(statuses.map((c) => c.args.status)).toEqual(expect.arrayContaining(['processing', 'closed']));
    expect(statuses.every((c) => c.args.thread_ts === ts)).toBe(true);
  });

  it('stops the run when Slack’s stop button is pressed (agent_session_stopped)', async () => {
    const { h, send, mention, posts, slack } = await start(
      [{ tool: 'bash', args: { command: 'sleep 60' } }],
      {
        agent: true,
      },
    );
    const { ts } = await mention('take your time in acme/web');
    const taskId = taskIdIn(await eventually(() => posts(ts)[0])) ?? '';
    await h.waitFor(taskId, (t) => t.status === 'running' && h.model.requests.length === 1);

    const res = await send(slackEvent('agent_session_stopped', { thread_ts: ts }));
    const task = await h.waitFor(taskId, isFinal, 20_000);

    expect(res.status).toBe(200);
    expect(task.status).toBe('cancelled');
    await eventually(() =>
      slack.callsTo('agents.sessions.setStatus').some((c) => c.args.status === 'closed'),
    );
  });
});

describe('Slack in Socket Mode: an event acknowledged is an event queued', () => {
  let h: Harness | undefined;
  let slack: SlackStandIn | undefined;
  let socket: Awaited<ReturnType<typeof startSocketModeSlack>> | undefined;
  afterEach(async () => {
    await h?.close(); // before the websocket goes, so that the client does not reconnect meanwhile
    h = undefined;
    await socket?.close();
    socket = undefined;
    await slack?.close();
    slack = undefined;
  });

  it('leaves an envelope whose authorize failed unacknowledged, and queues and acknowledges its redelivery', async () => {
    const ws = await startSocketModeSlack();
    socket = ws;
    slack = await startSlackStandIn({ botUserId: BOT, socketUrl: ws.url });
    const stand = slack;
    // Slack's Web API is failing as Patchbay starts (auth.test at start-up, then in `authorize`): a
    // platform error, which the Web API client does not retry, so `authorize` fails at once.
    stand.failNext('auth.test', 200, undefined, 'service_unavailable');
    stand.failNext('auth.test', 200, undefined, 'service_unavailable');
    h = await startHarness({
      script: [],
      worker: false,
      env: { SLACK_BOT_TOKEN: stand.token, SLACK_APP_TOKEN: stand.appToken, SLACK_API_URL: stand.url },
    });
    await eventually(() => ws.connected(), 20_000, 'the websocket');
    const ts = nextTs();
    const body = slackEvent('app_mention_channel', { text: `<@${BOT}> fix the greeting in acme/web`, ts });

    ws.sendEvent(body);
    const harness = h;
    // The receiver logs this when it decides to leave the envelope unacknowledged.
    await eventually(() => logged(harness, 'slack event not queued; left for Slack to redeliver').length);
    const ackedBeforeRedelivery = ws.acked();
    const redelivered = ws.sendEvent(body, { attempt: 1, reason: 'timeout' });
    await eventually(() => ws.acked().includes(redelivered), 20_000, 'the redelivery acknowledged');
    const accepted = await eventually(() =>
      stand.callsTo('chat.postMessage').find((c) => c.args.thread_ts === ts),
    );

    expect(ackedBeforeRedelivery).toEqual([]);
    expect(ws.acked()).toEqual([redelivered]);
    expect(accepted.args.text).toMatch(/^👀 On it: `acme\/web`/);
  }, 60_000);
});
