import { LinearClient } from '@linear/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import type { StepInfo, TaskEvent } from '../../src/domain/events.js';
import type { ReplyAddress } from '../../src/domain/reply-address.js';
import { newTaskRecord, type TaskRecord } from '../../src/domain/task.js';
import { findMention } from '../../src/integrations/linear/find-mention.js';
import { createLinearApi, isGone, type LinearApi } from '../../src/integrations/linear/linear-api.js';
import { createLinearReporter } from '../../src/integrations/linear/linear-reporter.js';
import { targetKeys, toPostId } from '../../src/integrations/linear/linear-targets.js';
import { createLogger } from '../../src/lib/logger.js';
import { createMemoryKeyValue } from '../../src/tasks/memory-stores.js';
import { type LinearStandIn, startLinearStandIn } from '../fakes/linear-stand-in.js';
import { createManualClock, type ManualClock } from '../fakes/manual-clock.js';

const log = createLogger({ level: 'silent' });
let linear: LinearStandIn | undefined;

afterEach(async () => {
  await linear?.close();
  linear = undefined;
});

async function setUp(clock?: ManualClock) {
  linear = await startLinearStandIn({ rateLimitResetMs: 150 });
  const client = new LinearClient({ apiKey: 'lin_api_test', apiUrl: linear.url });
  return { linear, api: createLinearApi({ client: async () => client, log, clock }) };
}

describe('LinearApi against the stand-in', () => {
  it('waits out rate limits (400 and 429 RATELIMITED) on progress calls and then makes the call', async () => {
    const clock = createManualClock();
    const { linear, api } = await setUp(clock);
    linear.failNext(429);
    linear.failNext(400);

    const updating = api.updateComment('comment-1', 'step 3');
    const asked: number[] = [];
    for (const _limit of [429, 400]) {
      await clock.waitForTimer();
      asked.push(linear.requests.length);
      clock.advance(clock.pending()[0] ?? 0);
    }
    await updating;

    expect(asked).toEqual([1, 2]); // each call made again only once its wait was over
    expect(linear.requests).toHaveLength(3);
    expect(linear.mutationsNamed('commentUpdate')[0]?.variables).toEqual({
      id: 'comment-1',
      input: { body: 'step 3' },
    });
  });

  it('gives up after three rate-limited answers, so that the caller logs and goes on', async () => {
    const { linear, api } = await setUp();
    linear.failNext(429, 3);

    await expect(api.moveIssue('issue-1', 'state-1')).rejects.toThrow(/rate limit/i);
    expect(linear.mutations).toHaveLength(0);
  });

  it('recognises Linear’s answer for a deleted issue', async () => {
    const { linear, api } = await setUp();
    linear.on('attachmentLinkURL', () => {
      throw new Error('Entity not found: Issue - Could not find referenced Issue.');
    });

    const err = await api.attachUrl('issue-1', 'https://github.com/acme/web/pull/1', 'PR #1').catch((e) => e);

    expect(isGone(err)).toBe(true);
    expect(isGone(new Error('Rate limit exceeded'))).toBe(false);
  });

  it('reads the viewer of an API key and an issue’s state with its team’s states', async () => {
    const { linear, api } = await setUp();
    linear.pin('Query', 'ROOT', {
      viewer: { id: 'bot-user', name: 'Patchbay Bot', displayName: 'patchbay' },
    });
    linear.pin('WorkflowState', 'st-1', { name: 'In Progress', type: 'started', position: 2 });
    linear.pin('Team', 'team-1', { states: { nodes: [{ id: 'st-1' }] } });
    linear.pin('Issue', 'issue-1', { team: { id: 'team-1' }, state: { id: 'st-1' } });

    const viewer = await api.fetchViewer();
    const states = await api.fetchIssueStates('issue-1');

    expect(viewer).toEqual({ id: 'bot-user', name: 'Patchbay Bot', displayName: 'patchbay' });
    expect(states?.state).toMatchObject({ id: 'st-1', type: 'started' });
    expect(states?.team?.states.nodes.map((s) => s.name)).toEqual(['In Progress']);
  });

  it('posts text from the model that mentions nobody and fetches nothing: no @handle, no profile link, no image', async () => {
    const { linear, api } = await setUp();
    const said =
      'Done. cc @ceo and [@patchbay](https://linear.app/acme/profiles/patchbay), see ' +
      'https://linear.app/acme/profiles/jane; mail ops@patchbay.dev ![chart](https://evil.test/?d=secret)';
    const bot = { name: 'Patchbay Bot', displayName: 'patchbay' };

    await api.createComment({ issueId: 'issue-1', body: said });
    await api.updateComment('comment-1', said);
    await api.postActivity('session-1', { type: 'action', action: '@ceo', parameter: said });

    const comment = linear.mutationsNamed('commentCreate')[0]?.variables.input as { body: string };
    const edit = linear.mutationsNamed('commentUpdate')[0]?.variables.input as { body: string };
    const activity = linear.mutationsNamed('agentActivityCreate')[0]?.variables.input as {
      content: { action: string; parameter: string };
    };
    for (const text of [comment.body, edit.body, activity.content.parameter]) {
      expect(text).not.toMatch(/(?<![\w.])@[a-z]/i);
      expect(text).not.toContain('/profiles/');
      expect(findMention(text, bot)).toBeNull();
      expect(text).toContain('ops@patchbay.dev');
      expect(text).not.toContain('![');
      expect(text).toContain('[chart](https://evil.test/?d=secret)');
      expect(text.replaceAll('\u200b', '')).toBe(said.replace('![', '['));
    }
    expect(activity.content.action).toBe('@\u200bceo');
  });
});

/** A worker's reporter, each call; a second one stands for the worker that retries after a crash. */
function workersOf(api: LinearApi) {
  const kv = createMemoryKeyValue();
  return () => createLinearReporter({ apis: { agent: () => api, assignment: api }, kv, log });
}

function aTask(): TaskRecord {
  return newTaskRecord('t1', {
    repo: 'acme/web',
    instruction: 'fix it',
    conversation: 'linear:issue-1',
    origin: { source: 'linear', label: 'Linear ENG-1' },
  });
}

function aStep(step: number): StepInfo {
  const usage = { promptTokens: 1, cachedTokens: 0, completionTokens: 1, usd: null, agentMs: 1 };
  return { step, tool: 'bash', detail: `bash: echo ${step}`, usage, elapsedMs: 10 };
}
const SESSION = { kind: 'linear-session', sessionId: 'session-1', issueId: 'issue-1' } as const;
const ISSUE = { kind: 'linear-issue', issueId: 'issue-1' } as const;

function finished(task: TaskRecord): TaskEvent {
  const pullRequest = { number: 7, url: 'https://github.com/acme/web/pull/7' };
  return { type: 'finished', task, summary: 'Fixed a.', pullRequest, checks: [] };
}

async function runTo(
  reporter: ReturnType<typeof createLinearReporter>,
  events: TaskEvent[],
  places: ReplyAddress[],
) {
  for (const event of events) await reporter.report(event, places);
  await reporter.idle();
}

describe('Linear posts made once per run', () => {
  it('posts the session’s response once when a retried worker reports the same run again', async () => {
    const { linear, api } = await setUp();
    const worker = workersOf(api);
    const task = aTask();
    const retried = { ...task, attempts: task.attempts + 1 };

    await runTo(worker(), [{ type: 'started', task, stage: 'clone' }, finished(task)], [SESSION]);
    await runTo(worker(), [{ type: 'started', task: retried, stage: 'clone' }, finished(retried)], [SESSION]);

    const activities = linear.mutationsNamed('agentActivityCreate').map((m) => m.variables.input);
    const responses = activities.filter(
      (a) => (a as { content: { type: string } }).content.type === 'response',
    );
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatchObject({
      id: toPostId(task, SESSION, 'finished'),
    });
  });

  it('edits the progress comment the webhook handler made, and replies once across a retried worker', async () => {
    const { linear, api } = await setUp();
    const worker = workersOf(api);
    const task = aTask();
    const progress = toPostId(task, ISSUE, 'progress');
    // The handler's comment reached Linear, but the worker did not learn its id.
    await api.createComment({ issueId: 'issue-1', body: 'On it', id: progress });

    await runTo(worker(), [{ type: 'started', task, stage: 'clone' }, finished(task)], [ISSUE]);
    await runTo(worker(), [finished({ ...task, attempts: task.attempts + 1 })], [ISSUE]);

    const created = linear
      .mutationsNamed('commentCreate')
      .map((m) => m.variables.input as { id?: string; parentId?: string });
    expect(created.map((c) => c.id)).toEqual([progress, expect.any(String)]);
    expect(created[1]?.parentId).toBe(progress);
    const edited = linear.mutationsNamed('commentUpdate').map((m) => m.variables.id);
    expect(new Set(edited)).toEqual(new Set([progress]));
  });

  it('edits the progress comment at most once per interval with the latest step, and the final state at once', async () => {
    const { linear, api } = await setUp();
    const kv = createMemoryKeyValue();
    const clock = createManualClock();
    const apis = { agent: () => api, assignment: api };
    const reporter = createLinearReporter({ apis, kv, log, clock, editIntervalMs: 3_000 });
    const task = aTask();
    const progress = toPostId(task, ISSUE, 'progress');
    await api.createComment({ issueId: 'issue-1', body: 'On it', id: progress }); // the webhook handler's
    await kv.set(targetKeys.progress(task.id, task.runs), progress, 60);
    const started = clock.now();
    const editedAt: number[] = [];
    const noteEdits = async () => {
      await reporter.settled();
      while (linear.mutationsNamed('commentUpdate').length > editedAt.length)
        editedAt.push(clock.now() - started);
    };

    await reporter.report({ type: 'started', task, stage: 'agent' }, [ISSUE]);
    await noteEdits();
    for (let n = 1; n <= 10; n += 1) {
      await reporter.report({ type: 'step', task: { ...task, steps: n }, step: aStep(n) }, [ISSUE]); // 1 s apart
      await noteEdits();
      clock.advance(1_000);
      await noteEdits();
    }
    await reporter.report(finished({ ...task, steps: 10 }), [ISSUE]);
    await reporter.idle();
    await noteEdits();

    const edits = linear
      .mutationsNamed('commentUpdate')
      .map((m) => m.variables as { id: string; input: { body: string } });
    expect(editedAt).toEqual([0, 3_000, 6_000, 9_000, 10_000]);
    expect(edits.every((e) => e.id === progress)).toBe(true);
    const shown = edits.map((e) => /step (\d+)\./.exec(e.input.body)?.[1] ?? e.input.body.split(' ')[0]);
    expect(shown).toEqual(['⚙️', '3', '6', '9', '✅']); // the stage, the latest step each time, the end
  });

  it('names a post by task, run, place and event: a v4-form UUID, the same on every worker', () => {
    const session = SESSION;
    const task = aTask();

    const id = toPostId(task, session, 'finished');

    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(
      toPostId({ ...task }, { ...SESSION, issueId: 'issue-2', organizationId: 'org-1' }, 'finished'),
    ).toBe(id);
    expect(toPostId({ ...task, runs: 2 }, session, 'finished')).not.toBe(id);
    expect(toPostId(task, { kind: 'linear-issue', issueId: 'session-1' }, 'finished')).not.toBe(id);
  });
});
