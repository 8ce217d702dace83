import { describe, expect, it } from 'vitest';
import { isFinal, queuedTaskIds } from '../fakes/harness.js';
import { BOT, commentCreated, issueAssigned, linearPerTest } from '../fakes/linear-webhooks.js';
import { createManualClock } from '../fakes/manual-clock.js';
import { ADD_CHANGELOG, FIX_GREETING } from '../fakes/scripts.js';
import { eventually } from '../fakes/slack-requests.js';

const start = linearPerTest();
const ASSIGNMENT = { modes: { assignment: true } };

type Stand = Awaited<ReturnType<typeof start>>['linear'];

/** The id Patchbay gave the n-th comment it created (1-based); Linear's create input takes one. */
function made(s: Awaited<ReturnType<typeof start>>, n: number): unknown {
  return s.inputs('commentCreate')[n - 1]?.input.id;
}

/** The issue's state follows `issueUpdate`, as in Linear. */
function trackState(linear: Stand) {
  linear.on('issueUpdate', (variables) => {
    const { id, input } = variables as { id: string; input: { stateId?: string } };
    // A ref, not `pin`: the mock store refuses to re-key a nested object it already holds.
    const ref = { $ref: { typeName: 'WorkflowState', key: input.stateId } };
    if (input.stateId) linear.store.set('Issue', id, 'state', ref);
    return undefined;
  });
}

describe('Linear: assignment mode (API key of a bot user)', () => {
  it('takes an issue assigned to the bot to a PR: one progress comment edited in place, the result in a reply, the issue moved and the PR attached', async () => {
    // The reporter's clock stands still: after its first edit, progress waits for a slot that never
    // comes, so the comment is edited at most twice (that edit and the final state), whatever the load.
    const s = await start(FIX_GREETING, { ...ASSIGNMENT, clock: createManualClock() });

    const res = await s.send(issueAssigned());
    const first = await eventually(() => s.inputs('commentCreate')[0], 20_000, 'progress comment');
    const taskId = /task `(t[0-9a-z]+)`/.exec(String(first.input.body))?.[1] ?? '';
    const task = await s.h.waitFor(taskId, isFinal);
    const reply = await eventually(() => s.inputs('commentCreate')[1], 20_000, 'result reply');
    await eventually(() => s.inputs('attachmentLinkURL').length === 1, 20_000, 'attachment');
    await eventually(() => s.inputs('issueUpdate').length === 2, 20_000, 'state moves');

    expect(res.status).toBe(200);
    expect(task.status).toBe('succeeded');
    expect(task.branch).toMatch(/^patchbay\/ENG-123-/);
    expect(first.input).toMatchObject({ issueId: 'issue-1' });
    expect(first.input.body).toContain('`acme/web`');
    expect(first.input.parentId).toBeUndefined();
    const edits = s.inputs('commentUpdate');
    expect(edits.length).toBeGreaterThanOrEqual(1);
    expect(edits.length).toBeLessThanOrEqual(2); // coalesced, not one per step and stage
    expect(made(s, 1)).toEqual(expect.any(String));
    expect(edits.every((e) => e.id === made(s, 1))).toBe(true);
    expect(String(edits.at(-1)?.input.body)).toContain(`pull request #${task.pullRequest?.number}`);
    expect(reply.input).toMatchObject({ issueId: 'issue-1', parentId: made(s, 1) });
    expect(String(reply.input.body)).toContain(task.pullRequest?.url ?? 'no url');
    expect(String(reply.input.body)).toContain('greet() now puts a comma after Hello.');
    expect(s.inputs('commentCreate')).toHaveLength(2);
    expect(s.inputs('issueUpdate').map((u) => u.input.stateId)).toEqual(['state-progress', 'state-review']);
    expect(s.inputs('attachmentLinkURL')[0]).toMatchObject({
      issueId: 'issue-1',
      url: task.pullRequest?.url,
      title: expect.stringContaining(`#${task.pullRequest?.number}`),
    });
    expect(s.h.github.pulls[0]?.body).toContain('[Linear ENG-123](https://linear.app/acme/issue/ENG-123/');
    expect(s.linear.requests.every((r) => r.headers.authorization === 'lin_api_e2e_bot_user_key')).toBe(true);
  });

  it('takes a comment that mentions the bot as a follow-up on the same branch and PR; ignores its own comments and other assignees', async () => {
    const s = await start([...FIX_GREETING, ...ADD_CHANGELOG], ASSIGNMENT);
    trackState(s.linear);
    await s.send(issueAssigned());
    const firstId = await eventually(
      () => /task `(t[0-9a-z]+)`/.exec(String(s.inputs('commentCreate')[0]?.input.body ?? ''))?.[1],
    );
    const firstTask = await s.h.waitFor(firstId, isFinal);
    await eventually(() => s.inputs('commentCreate').length === 2, 20_000, 'first reply');

    const ignored = await Promise.all([
      s.send(commentCreated('https://linear.app/acme/profiles/patchbay says: working on it', BOT.id)),
      s.send(commentCreated('Thanks, looks good so far.')),
      s.send(issueAssigned('user-2', BOT.id)),
    ]);
    const res = await s.send(
      commentCreated('[@patchbay](https://linear.app/acme/profiles/patchbay) also add a changelog entry'),
    );
    const progress = await eventually(() => s.inputs('commentCreate')[2], 20_000, 'second progress');
    const secondId = /task `(t[0-9a-z]+)`/.exec(String(progress.input.body))?.[1] ?? '';
    const secondTask = await s.h.waitFor(secondId, isFinal);
    const reply = await eventually(() => s.inputs('commentCreate')[3], 20_000, 'second reply');

    expect(ignored.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(res.status).toBe(200);
    expect(secondTask.id).not.toBe(firstTask.id);
    expect(secondTask.status).toBe('succeeded');
    expect(secondTask.branch).toBe(firstTask.branch);
    expect(secondTask.pullRequest?.number).toBe(firstTask.pullRequest?.number);
    expect(s.h.github.pulls).toHaveLength(1);
    expect(JSON.stringify(s.h.model.requests.at(-2)?.body)).toContain('also add a changelog entry');
    expect(progress.input.body).toContain('Follow-up on');
    expect(reply.input.parentId).toBe(made(s, 3));
    expect(s.inputs('commentCreate')).toHaveLength(4);
    // One attachment per PR, and the issue is never moved back from review to started.
    expect(s.inputs('attachmentLinkURL')).toHaveLength(1);
    expect(s.inputs('issueUpdate').map((u) => u.input.stateId)).toEqual(['state-progress', 'state-review']);
    expect(s.h.logLines.join('')).toContain('written by the bot');
  });

  it('asks the agent’s question in a reply and takes the next mention as the answer', async () => {
    const s = await start(
      [
        { tool: 'ask_user', args: { question: 'Comma or colon?' } },
        {
          tool: 'write_file',
          args: { path: 'src/greet.js', content: 'export const greet = (n) => `Hello, ${n}`;\n' },
        },
        { tool: 'finish', args: { title: 'Use a comma', summary: 'As answered.' } },
      ],
      ASSIGNMENT,
    );
    await s.send(issueAssigned());
    const taskId = await eventually(
      () => /task `(t[0-9a-z]+)`/.exec(String(s.inputs('commentCreate')[0]?.input.body ?? ''))?.[1],
    );
    await s.h.waitFor(taskId, (t) => t.status === 'waiting_for_input');
    const question = await eventually(() => s.inputs('commentCreate')[1], 20_000, 'question');

    await s.send(commentCreated('@patchbay a comma, please'));
    const task = await s.h.waitFor(taskId, isFinal);
    const result = await eventually(() => s.inputs('commentCreate')[3], 20_000, 'result');

    expect(question.input).toMatchObject({ parentId: made(s, 1) });
    expect(String(question.input.body)).toMatch(/^Comma or colon\?[\s\S]*mention @\u200bpatchbay/);
    expect(task.status).toBe('succeeded');
    expect(JSON.stringify(s.h.model.requests.at(-2)?.body)).toContain('a comma, please');
    expect(String(s.inputs('commentCreate')[2]?.input.body)).toContain('goes on with your answer');
    expect(result.input).toMatchObject({ parentId: made(s, 3) });
    expect(String(result.input.body)).toContain(task.pullRequest?.url ?? 'no url');
  });

  it('starts nothing for a mention that no member of the workspace wrote (an integration, a synced Slack user)', async () => {
    const s = await start(FIX_GREETING, ASSIGNMENT);
    const synced = commentCreated('@patchbay please delete the tests');
    Object.assign(synced.data as object, { userId: null, user: null, externalUserId: 'ext-1' });
    const byBot = commentCreated('@patchbay also rewrite the README');
    Object.assign(byBot.data as object, { botActor: { type: 'integration', name: 'Zapier' } });

    // Each answer comes after its handler logged the skip; a skipped comment leaves nothing behind.
    const answers = await Promise.all([s.send(synced), s.send(byBot)]);

    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    expect(s.h.logLines.join('').match(/not written by a member of the workspace/g)).toHaveLength(2);
    expect(queuedTaskIds(s.h)).toEqual([]);
    expect(s.inputs('commentCreate')).toHaveLength(0);
  });
});
