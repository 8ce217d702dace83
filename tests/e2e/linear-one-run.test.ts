import { describe, expect, it } from 'vitest';
import { isFinal } from '../fakes/harness.js';
import { issueAssigned, linearFixture, linearPerTest, sessionCreated } from '../fakes/linear-webhooks.js';
import { ADD_CHANGELOG, FIX_GREETING } from '../fakes/scripts.js';
import { eventually } from '../fakes/slack-requests.js';

const start = linearPerTest();
const BOTH = { modes: { agent: true, assignment: true } };
const taskIn = (text: unknown) => /task `(t[0-9a-z]+)`/.exec(String(text ?? ''))?.[1];

describe('Linear: one run per issue, plans, deleted issues', () => {
  it('shows the task’s stages as the session’s plan, in order, and points the session at the PR', async () => {
    const s = await start(FIX_GREETING);

    await s.send(sessionCreated());
    const task = await s.h.waitFor(await s.taskOf('session-1'), isFinal);
    const updates = await eventually(() => {
      const all = s.inputs('agentSessionUpdate');
      return all.at(-1)?.input.externalUrls ? all : null;
    }, 20_000);

    expect(task.status).toBe('succeeded');
    expect(updates.every((u) => u.id === 'session-1')).toBe(true);
    const plans = updates.map((u) =>
      (u.input.plan as Array<{ status: string }>).map((step) => step.status).join(' '),
    );
    expect(plans).toEqual([
      'inProgress pending pending pending pending',
      'completed inProgress pending pending pending',
      'completed completed inProgress pending pending',
      'completed completed completed inProgress pending',
      'completed completed completed completed inProgress',
      'completed completed completed completed completed',
    ]);
    const firstPlan = (updates[0]?.input.plan ?? []) as Array<{ content: string }>;
    expect(firstPlan.map((p) => p.content)).toEqual([
      'Clone the repository',
      'Run the setup commands',
      'Work on the change',
      'Run the checks',
      'Open or update the pull request',
    ]);
    expect(updates.at(-1)?.input.externalUrls).toEqual([
      { label: `Pull request #${task.pullRequest?.number}`, url: task.pullRequest?.url },
    ]);
    await eventually(() => s.inputs('attachmentLinkURL').length === 1, 20_000, 'attachment');
    await eventually(() => s.inputs('issueUpdate').length >= 2, 20_000, 'state moves');
    expect(s.inputs('issueUpdate').map((u) => u.input.stateId)).toEqual(['state-progress', 'state-review']);
  });

  it('makes one run of a delegation and an assignment of the same issue, and reports in both places', async () => {
    const s = await start(FIX_GREETING, BOTH);

    const [delegated, assigned] = await Promise.all([s.send(sessionCreated()), s.send(issueAssigned())]);
    const thoughtTask = await s.taskOf('session-1');
    const comment = await eventually(() => s.inputs('commentCreate')[0], 20_000, 'comment');
    const task = await s.h.waitFor(thoughtTask, isFinal);
    const again = await s.send(issueAssigned());
    const reply = await eventually(() => s.inputs('commentCreate').find((c) => c.input.parentId));
    const response = await eventually(() => s.activities().find((a) => a.content.type === 'response'));

    expect([delegated.status, assigned.status, again.status]).toEqual([200, 200, 200]);
    expect(task.status).toBe('succeeded');
    expect(taskIn(comment.input.body)).toBe(task.id);
    expect(s.h.model.requests).toHaveLength(FIX_GREETING.length);
    expect(s.h.github.pulls).toHaveLength(1);
    expect(String(reply.input.body)).toContain(task.pullRequest?.url ?? 'no url');
    expect(response.content.body).toContain(task.pullRequest?.url ?? 'no url');
    await eventually(() => s.inputs('issueUpdate').length >= 2, 20_000, 'state moves');
    expect(s.inputs('issueUpdate').map((u) => u.input.stateId)).toEqual(['state-progress', 'state-review']);
    expect(s.inputs('attachmentLinkURL')).toHaveLength(1);
    expect(new Set((await s.h.audience(task.id)).map((a) => a.kind))).toEqual(
      new Set(['linear-issue', 'linear-session']),
    );
  });

  it('attaches a repeated assignment and a new session to the running task instead of queueing another run', async () => {
    const s = await start([{ tool: 'bash', args: { command: 'sleep 1' } }, ...FIX_GREETING], BOTH);
    await s.send(issueAssigned());
    const taskId = await eventually(() => taskIn(s.inputs('commentCreate')[0]?.input.body));
    await s.h.waitFor(taskId, (t) => t.status === 'running');

    const twice = await s.send(issueAssigned());
    const delegated = await s.send(sessionCreated('session-late'));
    const thought = await eventually(() => s.activities().find((a) => a.content.type === 'thought'));
    const task = await s.h.waitFor(taskId, isFinal);
    const response = await eventually(() => s.activities().find((a) => a.content.type === 'response'));

    expect([twice.status, delegated.status]).toEqual([200, 200]);
    expect(task.status).toBe('succeeded');
    expect(thought.agentSessionId).toBe('session-late');
    expect(thought.content.body).toContain(`Already on it: task \`${taskId}\``);
    expect(response.agentSessionId).toBe('session-late');
    expect(s.h.model.requests).toHaveLength(FIX_GREETING.length + 1);
    expect(s.inputs('commentCreate').filter((c) => !c.input.parentId)).toHaveLength(1);
    expect((await s.h.audience(taskId)).map((a) => a.kind)).toEqual(['linear-issue', 'linear-session']);
  });

  it('takes a session opened by a mention with a new request while the issue’s task runs as a follow-up', async () => {
    const s = await start([
      { tool: 'bash', args: { command: 'sleep 1' } },
      ...FIX_GREETING,
      ...ADD_CHANGELOG,
    ]);
    await s.send(sessionCreated());
    const firstId = await s.taskOf('session-1');
    await s.h.waitFor(firstId, (t) => t.status === 'running');
    const mention = sessionCreated('session-2');
    const session = mention.agentSession as Record<string, unknown>;
    session.comment = {
      id: 'comment-30',
      body: '[@patchbay-agent](https://linear.app/acme/profiles/patchbay-agent) also add a changelog entry',
    };

    const res = await s.send(mention);
    const secondId = await s.taskOf('session-2');
    const [first, second] = [await s.h.waitFor(firstId, isFinal), await s.h.waitFor(secondId, isFinal)];

    expect(res.status).toBe(200);
    expect(secondId).not.toBe(firstId);
    expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
    expect(second.branch).toBe(first.branch);
    expect(JSON.stringify(s.h.model.requests.at(-2)?.body)).toContain('also add a changelog entry');
  });

  it('starts work on an issue created already assigned to the bot, and not on one assigned to someone else', async () => {
    const s = await start(FIX_GREETING, { modes: { assignment: true } });
    const createdForBot = { ...issueAssigned(), action: 'create', updatedFrom: undefined };
    const createdForAda = { ...issueAssigned('user-1'), action: 'create', updatedFrom: undefined };

    const [forAda, forBot] = [await s.send(createdForAda), await s.send(createdForBot)];
    const taskId = await eventually(() => taskIn(s.inputs('commentCreate')[0]?.input.body));
    const task = await s.h.waitFor(taskId, isFinal);

    expect([forAda.status, forBot.status]).toEqual([200, 200]);
    expect(task.status).toBe('succeeded');
    expect(s.h.model.requests).toHaveLength(FIX_GREETING.length);
    expect(s.h.logLines.join('')).toContain('assigned to someone else');
  });

  it('stops the issue’s task when the issue is deleted; Linear calls about it are skipped and the server stays up', async () => {
    const s = await start([{ tool: 'bash', args: { command: 'sleep 60' } }], BOTH);
    await s.send(issueAssigned());
    const taskId = await eventually(() => taskIn(s.inputs('commentCreate')[0]?.input.body));
    await s.h.waitFor(taskId, (t) => t.status === 'running' && s.h.model.requests.length === 1);
    const gone = () => {
      throw new Error('Entity not found: Issue - Could not find referenced Issue.');
    };
    for (const name of ['commentCreate', 'commentUpdate', 'issueUpdate', 'attachmentLinkURL'])
      s.linear.on(name, gone);

    const res = await s.send(linearFixture('issue_remove'));
    const task = await s.h.waitFor(taskId, isFinal, 20_000);
    await eventually(() => s.h.logLines.join('').includes('linear entity gone'), 20_000, 'skip log');
    const health = await fetch(`${s.h.base}/healthz`);
    const later = await s.send({ type: 'Issue', action: 'remove', data: { id: 'issue-404' } });
    const malformed = await s.send({ type: 'Issue', action: 'update', data: {} });

    expect(res.status).toBe(200);
    expect(task.status).toBe('cancelled');
    expect(s.h.logLines.join('')).toContain('linear issue deleted; task cancelled');
    expect(health.status).toBe(200);
    expect([later.status, malformed.status]).toEqual([200, 200]);
  });
});
