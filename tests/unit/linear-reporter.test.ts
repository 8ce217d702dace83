import { describe, expect, it } from 'vitest';
import type { StepInfo, TaskEvent } from '../../src/domain/events.js';
import type { ReplyAddress } from '../../src/domain/reply-address.js';
import { newTaskRecord, type TaskRecord } from '../../src/domain/task.js';
import type { ActivityContent, LinearApi, PlanStep } from '../../src/integrations/linear/linear-api.js';
import { createLinearReporter } from '../../src/integrations/linear/linear-reporter.js';
import { createLogger } from '../../src/lib/logger.js';
import { createMemoryKeyValue } from '../../src/tasks/memory-stores.js';
import { createManualClock } from '../fakes/manual-clock.js';

const log = createLogger({ level: 'silent' });

function aTask(): TaskRecord {
  return newTaskRecord('t1', {
    repo: 'acme/web',
    instruction: 'fix it',
    conversation: 'linear:issue-1',
    origin: { source: 'linear', label: 'Linear ENG-1' },
  });
}

const SESSION: ReplyAddress = { kind: 'linear-session', sessionId: 'session-1', issueId: 'issue-1' };

function aStep(step: number, detail: string): StepInfo {
  const tool = detail.split(':')[0] ?? 'bash';
  const usage = { promptTokens: 1, cachedTokens: 0, completionTokens: 1, usd: null, agentMs: 1 };
  return { step, tool, detail, usage, elapsedMs: 10 };
}

const notInSessionMode = async (): Promise<never> => {
  throw new Error('not a call of agent session mode');
};

function recordingApi(fail = false) {
  const posted: Array<{ sessionId: string; content: ActivityContent; id?: string }> = [];
  const plans: PlanStep[][] = [];
  const links: Array<Array<{ label: string; url: string }>> = [];
  const api: LinearApi = {
    async postActivity(sessionId, content, id) {
      if (fail) throw new Error('linear is down');
      posted.push({ sessionId, content, id });
    },
    async updateSession(_sessionId, input) {
      if (fail) throw new Error('linear is down');
      if (input.plan) plans.push(input.plan);
      if (input.externalUrls) links.push(input.externalUrls);
    },
    fetchIssue: notInSessionMode,
    fetchIssueStates: notInSessionMode,
    fetchViewer: notInSessionMode,
    createComment: notInSessionMode,
    updateComment: notInSessionMode,
    moveIssue: notInSessionMode,
    attachUrl: notInSessionMode,
  };
  return { posted, plans, links, apis: { agent: () => api }, kv: createMemoryKeyValue() };
}

describe('LinearReporter', () => {
  it('points the session at the task page until the pull request exists, then at both', async () => {
    const { apis, kv, links } = recordingApi();
    const pageUrl = (id: string) => `https://patchbay.acme.example/tasks/${id}`;
    const reporter = createLinearReporter({ apis, kv, log, clock: createManualClock(), pageUrl });
    const task = aTask();
    const pullRequest = { number: 7, url: 'https://github.com/acme/web/pull/7' };

    await reporter.report({ type: 'started', task, stage: 'clone' }, [SESSION]);
    await reporter.report({ type: 'stage', task, stage: 'agent' }, [SESSION]);
    await reporter.report({ type: 'finished', task, summary: 'Fixed.', pullRequest, checks: [] }, [SESSION]);
    await reporter.idle();

    const page = { label: 'Task page', url: 'https://patchbay.acme.example/tasks/t1' };
    expect(links).toEqual([[page], [{ label: 'Pull request #7', url: pullRequest.url }, page]]);
  });

  it('posts the first step at once, coalesces the next into one action, and ends with the PR response', async () => {
    const { apis, kv, posted, plans } = recordingApi();
    const reporter = createLinearReporter({ apis, kv, log, clock: createManualClock() }); // time stands still
    const task = aTask();
    const events: TaskEvent[] = [
      { type: 'started', task, stage: 'clone' },
      { type: 'step', task, step: aStep(1, 'read_file: src/a.ts') },
      { type: 'step', task, step: aStep(2, 'edit_file: src/a.ts') },
      { type: 'step', task, step: aStep(3, 'bash: npm test') },
      {
        type: 'finished',
        task,
        summary: 'Fixed a.',
        pullRequest: { number: 7, url: 'https://github.com/acme/web/pull/7' },
        checks: [{ command: 'npm test', exitCode: 0, timedOut: false, output: '', durationMs: 5 }],
      },
    ];

    for (const event of events) await reporter.report(event, [SESSION]);
    await reporter.idle();

    expect(posted.map((p) => p.content)).toEqual([
      { type: 'action', action: 'read_file', parameter: 'src/a.ts' },
      { type: 'action', action: '2 steps', parameter: 'edit_file: src/a.ts · bash: npm test' },
      {
        type: 'response',
        body: '[Pull request #7](https://github.com/acme/web/pull/7)\n\nFixed a.\n\n✅ `npm test`',
      },
    ]);
    expect(posted.every((p) => p.sessionId === 'session-1')).toBe(true);
    expect(plans.map((plan) => plan.map((s) => s.status).join(' '))).toEqual([
      'inProgress pending pending pending pending',
      'completed completed completed completed completed',
    ]);
  });

  it('posts at most one action per interval, the steps in between coalesced into it', async () => {
    const { apis, kv, posted } = recordingApi();
    const clock = createManualClock();
    const reporter = createLinearReporter({ apis, kv, log, clock, actionIntervalMs: 5_000 });
    const task = aTask();
    const actions = () => posted.filter((p) => p.content.type === 'action').map((p) => p.content);

    await reporter.report({ type: 'started', task, stage: 'agent' }, [SESSION]);
    await reporter.report({ type: 'step', task, step: aStep(1, 'read_file: src/a.ts') }, [SESSION]);
    clock.advance(1_000);
    await reporter.report({ type: 'step', task, step: aStep(2, 'edit_file: src/a.ts') }, [SESSION]);
    clock.advance(3_999);
    await reporter.report({ type: 'step', task, step: aStep(3, 'bash: npm test') }, [SESSION]);
    await reporter.settled();
    const beforeTheInterval = actions().length;
    clock.advance(1);
    await reporter.settled();

    expect(beforeTheInterval).toBe(1);
    expect(actions()).toEqual([
      { type: 'action', action: 'read_file', parameter: 'src/a.ts' },
      { type: 'action', action: '2 steps', parameter: 'edit_file: src/a.ts · bash: npm test' },
    ]);
  });

  it('asks with an elicitation, says a stop with a response and a failure with an error', async () => {
    const { apis, kv, posted } = recordingApi();
    const reporter = createLinearReporter({ apis, kv, log });
    const task = aTask();

    await reporter.report({ type: 'question', task, question: 'Comma or colon?' }, [SESSION]);
    await reporter.report({ type: 'failed', task: { ...task, runs: 2 }, code: 'cancelled', message: 'x' }, [
      SESSION,
    ]);
    await reporter.report(
      {
        type: 'failed',
        task: { ...task, runs: 3 },
        code: 'clone_failed',
        message: 'could not clone',
        hint: 'check the token',
      },
      [SESSION],
    );

    expect(posted.map((p) => p.content)).toEqual([
      { type: 'elicitation', body: 'Comma or colon?' },
      { type: 'response', body: 'Stopped as asked.' },
      { type: 'error', body: 'could not clone\n\ncheck the token' },
    ]);
  });

  it('never fails the task when Linear does not answer, and ignores tasks without a session', async () => {
    const { apis, kv } = recordingApi(true);
    const reporter = createLinearReporter({ apis, kv, log });
    const task = aTask();

    await reporter.report({ type: 'step', task, step: aStep(1, 'bash: ls') }, [SESSION]);
    await reporter.report({ type: 'finished', task, summary: 'ok', checks: [] }, [SESSION]);
    await reporter.report({ type: 'finished', task: aTask(), summary: 'ok', checks: [] }, []);

    await expect(reporter.idle()).resolves.toBeUndefined();
  });

  it('gives the steps of an attempt retried in the same worker their own activity ids', async () => {
    const { apis, kv, posted } = recordingApi();
    const reporter = createLinearReporter({ apis, kv, log, actionIntervalMs: 0 });
    const task = aTask();
    const retried = { ...task, attempts: task.attempts + 1 };

    await reporter.report({ type: 'started', task, stage: 'agent' }, [SESSION]);
    await reporter.report({ type: 'step', task, step: aStep(1, 'bash: ls') }, [SESSION]);
    await reporter.report({ type: 'started', task: retried, stage: 'agent' }, [SESSION]);
    await reporter.report({ type: 'step', task: retried, step: aStep(1, 'bash: ls') }, [SESSION]);
    await reporter.idle();

    const ids = posted.filter((p) => p.content.type === 'action').map((p) => p.id);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toEqual(expect.any(String));
    expect(ids[1]).not.toBe(ids[0]);
  });
});
