import { LinearClient } from '@linear/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { type LinearStandIn, startLinearStandIn } from '../../src/demo/linear-stand-in.js';
import type { TaskEvent } from '../../src/domain/events.js';
import { newTaskRecord, type TaskRecord } from '../../src/domain/task.js';
import { createLinearApi } from '../../src/integrations/linear/linear-api.js';
import { createLinearReporter } from '../../src/integrations/linear/linear-reporter.js';
import { toPostId } from '../../src/integrations/linear/linear-targets.js';
import { createLogger } from '../../src/lib/logger.js';
import { createMemoryKeyValue } from '../../src/tasks/memory-stores.js';

const log = createLogger({ level: 'silent' });
let linear: LinearStandIn | undefined;

afterEach(async () => {
  await linear?.close();
  linear = undefined;
});

async function setUp() {
  linear = await startLinearStandIn();
  const client = new LinearClient({ apiKey: 'lin_api_test', apiUrl: linear.url });
  const api = createLinearApi({ client: async () => client, log });
  const kv = createMemoryKeyValue();
  /** A worker's reporter; a second one stands for the worker that retries after a crash. */
  const worker = () => createLinearReporter({ apis: { agent: () => api, assignment: api }, kv, log });
  return { linear, api, worker };
}

function aTask(ref: Record<string, string>): TaskRecord {
  return newTaskRecord('t1', {
    repo: 'acme/web',
    instruction: 'fix it',
    conversation: 'linear:issue-1',
    origin: { source: 'linear', label: 'Linear ENG-1', ref },
  });
}

function finished(task: TaskRecord): TaskEvent {
  const pullRequest = { number: 7, url: 'https://github.com/acme/web/pull/7' };
  return { type: 'finished', task, summary: 'Fixed a.', pullRequest, checks: [] };
}

async function runTo(reporter: ReturnType<typeof createLinearReporter>, events: TaskEvent[]) {
  for (const event of events) await reporter.report(event);
  await reporter.idle();
}

describe('Linear posts made once per run', () => {
  it('posts the session’s response once when a retried worker reports the same run again', async () => {
    const { linear, worker } = await setUp();
    const task = aTask({ mode: 'agent', issueId: 'issue-1', sessionId: 'session-1' });
    const retried = { ...task, attempts: task.attempts + 1 };

    await runTo(worker(), [{ type: 'started', task, stage: 'clone' }, finished(task)]);
    await runTo(worker(), [{ type: 'started', task: retried, stage: 'clone' }, finished(retried)]);

    const activities = linear.mutationsNamed('agentActivityCreate').map((m) => m.variables.input);
    const responses = activities.filter(
      (a) => (a as { content: { type: string } }).content.type === 'response',
    );
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatchObject({
      id: toPostId(task, { kind: 'session', sessionId: 'session-1' }, 'finished'),
    });
  });

  it('edits the progress comment the webhook handler made, and replies once across a retried worker', async () => {
    const { linear, api, worker } = await setUp();
    const task = aTask({ mode: 'assignment', issueId: 'issue-1' });
    const progress = toPostId(task, { kind: 'issue', issueId: 'issue-1' }, 'progress');
    // The handler's comment reached Linear, but the worker did not learn its id.
    await api.createComment({ issueId: 'issue-1', body: 'On it', id: progress });

    await runTo(worker(), [{ type: 'started', task, stage: 'clone' }, finished(task)]);
    await runTo(worker(), [finished({ ...task, attempts: task.attempts + 1 })]);

    const created = linear
      .mutationsNamed('commentCreate')
      .map((m) => m.variables.input as { id?: string; parentId?: string });
    expect(created.map((c) => c.id)).toEqual([progress, expect.any(String)]);
    expect(created[1]?.parentId).toBe(progress);
    const edited = linear.mutationsNamed('commentUpdate').map((m) => m.variables.id);
    expect(new Set(edited)).toEqual(new Set([progress]));
  });

  it('names a post by task, run, place and event: a v4-form UUID, the same on every worker', () => {
    const session = { kind: 'session', sessionId: 'session-1' } as const;
    const task = aTask({});

    const id = toPostId(task, session, 'finished');

    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(toPostId({ ...task }, { ...session, organizationId: 'org-1' }, 'finished')).toBe(id);
    expect(toPostId({ ...task, runs: 2 }, session, 'finished')).not.toBe(id);
    expect(toPostId(task, { kind: 'issue', issueId: 'session-1' }, 'finished')).not.toBe(id);
  });
});
