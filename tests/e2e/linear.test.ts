import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isFinal, logged, queuedTaskIds } from '../fakes/harness.js';
import {
  sessionCreated as created,
  LINEAR_TOKEN,
  linearPerTest,
  sessionPrompted as prompted,
} from '../fakes/linear-webhooks.js';
import { createManualClock } from '../fakes/manual-clock.js';
import { ADD_CHANGELOG, FIX_GREETING } from '../fakes/scripts.js';
import { eventually } from '../fakes/slack-requests.js';

const start = linearPerTest();

describe('Linear: agent sessions', () => {
  it('takes a delegated issue from created to PR: a thought first, coalesced actions, a response with the PR', async () => {
    // The reporter's clock stands still: after the first step, steps wait for a slot that never
    // comes, so they reach Linear coalesced, when the stage changes. No coalescing depends on load.
    const { h, send, activities, taskOf } = await start(FIX_GREETING, { clock: createManualClock() });

    const res = await send(created());
    const taskId = await taskOf('session-1');
    const task = await h.waitFor(taskId, isFinal);
    const all = await eventually(
      () => (activities().at(-1)?.content.type === 'response' ? activities() : null),
      20_000,
      'response',
    );

    expect(res.status).toBe(200);
    expect(task.status).toBe('succeeded');
    expect(task.branch).toMatch(/^patchbay\/ENG-123-/);
    const types = all.map((a) => a.content.type);
    expect(types[0]).toBe('thought');
    expect(types.at(-1)).toBe('response');
    const actions = all.slice(1, -1);
    expect(actions.map((a) => a.content.type)).toEqual(['action', 'action']); // not one per tool call
    expect(actions[0]?.content.action).toBe('read_file'); // the first step at once
    expect(actions[1]?.content.action).toBe(`${task.steps - 1} steps`); // the rest, coalesced
    expect(all.every((a) => a.agentSessionId === 'session-1')).toBe(true);
    expect(all[0]?.content.body).toContain('`acme/web`');
    expect(all.at(-1)?.content.body).toContain(task.pullRequest?.url ?? 'no url');
    expect(all.at(-1)?.content.body).toContain('greet() now puts a comma after Hello.');
    const pull = h.github.pulls[0];
    expect(pull?.body).toContain('Linear ENG-123');
    expect(pull?.body).toContain('https://linear.app/acme/issue/ENG-123/greeting-lacks-a-comma');
    const prompt = JSON.stringify(h.model.requests[0]?.body);
    expect(prompt).toContain('Greeting lacks a comma');
    expect(prompt).toContain('Seen on the login page too.');
  });

  it('rejects forged, unsigned and stale webhooks (401) and malformed ones (400), skips unknown types, starts nothing', async () => {
    const { h, send, linear } = await start([], { worker: false });
    const raw = JSON.stringify({ ...created(), webhookTimestamp: Date.now() });

    const forged = await send(created(), {
      signature: createHmac('sha256', 'wrong').update(raw).digest('hex'),
    });
    const unsigned = await send(created(), { signature: '' });
    const stale = await send(created(), { timestamp: Date.now() - 120_000 });
    const justStale = await send(created(), { timestamp: Date.now() - 61_000 });
    const notJson = await send({}, { raw: '{"type": "AgentSessionEvent", ' });
    const notLinear = await send({}, { raw: JSON.stringify({ hello: 'world' }) });
    const unknown = await send({ type: 'Reaction', action: 'create', data: { emoji: '👍' } });
    // Each answer comes after its handler ran, and none of these leaves work in the background.
    const noIssue = await send({ ...created(), agentSession: { id: 'session-x' } });

    expect([forged.status, unsigned.status, stale.status, justStale.status]).toEqual([401, 401, 401, 401]);
    expect([notJson.status, notLinear.status]).toEqual([400, 400]);
    expect([unknown.status, noIssue.status]).toEqual([200, 200]);
    expect(linear.requests).toHaveLength(0);
    expect(linear.mutations).toHaveLength(0);
    expect(h.logLines.join('')).toContain('linear webhook type not handled; skipped');
    expect(h.logLines.join('')).toContain('linear session event skipped');
    expect(queuedTaskIds(h)).toEqual([]);
  });

  it('answers 503 when the issue cannot be read (Linear delivers again) and still shows a thought in time; waits out a rate limit once', async () => {
    const { h, send, linear, activities, taskOf } = await start([], { worker: false });
    const delivery = randomUUID();
    linear.failNext(500);

    const down = await send(created(), { delivery });
    const whileDown = await eventually(() => activities()[0], 20_000, 'first thought');
    linear.failNext(429);
    const limited = await send(created(), { delivery });
    const taskId = await taskOf('session-1', 1);

    expect(down.status).toBe(503);
    expect(whileDown.content).toEqual({ type: 'thought', body: 'Looking at the issue…' });
    expect(limited.status).toBe(200);
    expect((await h.getTask(taskId)).status).toBe('queued');
    expect(activities().map((a) => a.content.type)).toEqual(['thought', 'thought']);
    expect(linear.requests.map((r) => r.headers.authorization)).toEqual(
      Array(5).fill(`Bearer ${LINEAR_TOKEN}`),
    );
  });

  it('shows a first thought before the task is queued when queueing is slow', async () => {
    const clock = createManualClock();
    const { send, linear, activities, taskOf } = await start([], { worker: false, clock });
    let readIssue: () => void = () => undefined;
    linear.holdNext('issue', new Promise<void>((r) => (readIssue = r))); // queueing waits for the issue
    let answered = false;

    const answering = send(created()).then((res) => {
      answered = true;
      return res;
    });
    await clock.waitForTimer(1_500); // the first thought's timer, while the issue is being read
    clock.advance(1_500);
    const thought = await eventually(() => activities()[0], 20_000, 'first thought');
    const answeredBeforeTheThought = answered;
    readIssue();
    const res = await answering;
    const taskId = await taskOf('session-1', 1);

    expect(answeredBeforeTheThought).toBe(false);
    expect(res.status).toBe(200);
    expect(thought.content.body).toBe('Looking at the issue…');
    expect(taskId).toMatch(/^t/);
  });

  it('makes one task of a redelivered webhook (same Linear-Delivery), sequential or concurrent', async () => {
    const { h, send, activities } = await start([], { worker: false });
    const delivery = randomUUID();

    const first = await send(created(), { delivery });
    const again = await send(created(), { delivery });
    const concurrent = await Promise.all([
      send(created('session-2', { id: 'issue-1', identifier: 'ENG-123', teamKey: 'ENG' }), {
        delivery: 'd-2',
      }),
      send(created('session-2', { id: 'issue-1', identifier: 'ENG-123', teamKey: 'ENG' }), {
        delivery: 'd-2',
      }),
    ]);
    await eventually(() => activities().length >= 2, 20_000, 'thoughts');

    // Every delivery was answered after its handler ran: one task was queued and one other session
    // attached to it, each with its one thought; a redelivery did neither, so no thought can follow.
    expect(queuedTaskIds(h)).toHaveLength(1);
    const attached = logged(h, 'linear start event attached to the issue’s task');
    expect(attached.filter((entry) => entry.joined === true)).toHaveLength(1);
    expect([first.status, again.status, ...concurrent.map((r) => r.status)]).toEqual([200, 200, 200, 200]);
    const thoughts = activities().filter((a) => a.content.type === 'thought');
    expect(thoughts.map((a) => a.agentSessionId)).toEqual(['session-1', 'session-2']);
  });

  it('asks which repository when the issue names none or one off the allowlist, and starts nothing', async () => {
    const { h, send, activities } = await start(FIX_GREETING);

    const unknown = await send(
      created('session-ops', { id: 'issue-2', identifier: 'OPS-7', teamKey: 'OPS' }),
    );
    const forbidden = await send(
      created('session-evil', { id: 'issue-3', identifier: 'ENG-9', teamKey: 'ENG' }),
    );
    const asked = await eventually(
      () => (activities().length >= 2 ? activities() : null),
      20_000,
      'elicitations',
    );

    expect([unknown.status, forbidden.status]).toEqual([200, 200]);
    expect(asked.map((a) => a.content.type)).toEqual(['elicitation', 'elicitation']);
    const bySession = Object.fromEntries(asked.map((a) => [a.agentSessionId, a.content.body ?? '']));
    expect(bySession['session-ops']).toMatch(/Which repository.*`acme\/web`/);
    expect(bySession['session-evil']).toMatch(/not allowed to work on `evil\/app`.*`acme\/web`/);
    expect(queuedTaskIds(h)).toEqual([]); // a handler logs a queued task before its answer
    expect(h.model.requests).toHaveLength(0);
  });

  it('takes a prompt in the session as a follow-up on the same branch and pull request', async () => {
    const { h, send, activities, taskOf } = await start([...FIX_GREETING, ...ADD_CHANGELOG]);
    await send(created());
    const firstTask = await h.waitFor(await taskOf('session-1'), isFinal);
    await eventually(() => activities().at(-1)?.content.type === 'response', 20_000, 'first response');

    const res = await send(prompted('Also add a changelog entry.'));
    const secondTask = await h.waitFor(await taskOf('session-1', 1), isFinal);
    const responses = await eventually(() => {
      const r = activities().filter((a) => a.content.type === 'response');
      return r.length === 2 ? r : null;
    });

    expect(res.status).toBe(200);
    expect(secondTask.id).not.toBe(firstTask.id);
    expect(secondTask.status).toBe('succeeded');
    expect(secondTask.branch).toBe(firstTask.branch);
    expect(secondTask.pullRequest?.number).toBe(firstTask.pullRequest?.number);
    expect(h.github.pulls).toHaveLength(1);
    const thoughts = activities().filter((a) => a.content.type === 'thought');
    expect(thoughts[1]?.content.body).toContain(`PR #${firstTask.pullRequest?.number}`);
    expect(responses[1]?.content.body).toContain(firstTask.pullRequest?.url ?? 'no url');
  });

  it('asks the agent’s question as an elicitation and takes the next prompt as the answer', async () => {
    const { h, send, activities, taskOf } = await start([
      { tool: 'ask_user', args: { question: 'Comma or colon?' } },
      {
        tool: 'write_file',
        args: { path: 'src/greet.js', content: 'export const greet = (n) => `Hello, ${n}`;\n' },
      },
      { tool: 'finish', args: { title: 'Use a comma', summary: 'As answered.' } },
    ]);
    await send(created());
    const taskId = await taskOf('session-1');
    await h.waitFor(taskId, (t) => t.status === 'waiting_for_input');
    const question = await eventually(() => activities().find((a) => a.content.type === 'elicitation'));

    await send(prompted('A comma, please.'));
    const task = await h.waitFor(taskId, isFinal);

    expect(question.content.body).toBe('Comma or colon?');
    expect(task.status).toBe('succeeded');
    expect(JSON.stringify(h.model.requests.at(-2)?.body)).toContain('A comma, please.');
    const thoughts = activities().filter((a) => a.content.type === 'thought');
    expect(thoughts[1]?.content.body).toContain('goes on with your answer');
  });

  it('stops the running task on the stop signal', async () => {
    const { h, send, activities, taskOf } = await start([{ tool: 'bash', args: { command: 'sleep 60' } }]);
    await send(created());
    const taskId = await taskOf('session-1');
    await h.waitFor(taskId, (t) => t.status === 'running' && h.model.requests.length === 1);

    const res = await send(prompted('', { signal: 'stop' }));
    const task = await h.waitFor(taskId, isFinal, 20_000);
    const last = await eventually(() => {
      const a = activities().at(-1);
      return a?.content.type === 'response' ? a : null;
    });

    expect(res.status).toBe(200);
    expect(task.status).toBe('cancelled');
    expect(last.content.body).toMatch(/Stopped/);
  });
});
