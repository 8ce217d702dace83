import { describe, expect, it } from 'vitest';
import type { StandInPull } from '../../src/demo/github-stand-in.js';
import { followUpTaskIds, githubEvent, postGitHubWebhook, skipReasons } from '../fakes/github-webhooks.js';
import { isFinal, queuedTaskIds } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { issueAssigned, linearPerTest } from '../fakes/linear-webhooks.js';
import { ADD_CHANGELOG, FIX_GREETING } from '../fakes/scripts.js';
import { slackPerTest } from '../fakes/slack-per-test.js';
import { eventually } from '../fakes/slack-requests.js';

/** Two models: the default (`scripted`, first) and one a request may name. */
const models = [{ name: 'scripted' }, { name: 'strong', context_window: 200_000 }];
const modelsAsked = (requests: Array<{ body: unknown }>) =>
  requests.map((r) => (r.body as { model: string }).model);
const taskIdIn = (text: unknown) => /task `(t[0-9a-z]+)`/.exec(String(text ?? ''))?.[1] ?? '';

describe('Slack: model= in a mention', () => {
  const start = slackPerTest();

  it('runs the task on the named model, and refuses an unknown name in the thread with the list', async () => {
    const { h, mention, posts } = await start(FIX_GREETING, { file: { models } });

    const chosen = await mention('fix the greeting in acme/web model=strong');
    const refused = await mention('fix the greeting in acme/web model=gpt-4-turbo');
    const accepted = await eventually(() => posts(chosen.ts)[0], 20_000, 'accept reply');
    const refusal = await eventually(() => posts(refused.ts)[0], 20_000, 'refusal');
    const task = await h.waitFor(taskIdIn(accepted.args.text), isFinal);

    expect(task.status).toBe('succeeded');
    expect(task.model).toBe('strong');
    expect(modelsAsked(h.model.requests)).toEqual(['strong', 'strong', 'strong', 'strong']);
    expect(JSON.stringify(h.model.requests[0]?.body)).not.toContain('model=strong');
    expect(refusal.args.text).toMatch(/^I can't start that: there is no model named "gpt-4-turbo"/);
    expect(refusal.args.text).toContain('`scripted`, `strong`');
    expect(queuedTaskIds(h)).toEqual([task.id]);
  });
});

describe('GitHub: model= in a pull request comment', () => {
  const SECRET = 'e2e-github-webhook-secret-0123456789';
  const start = harnessPerTest();

  it('runs the follow-up on the named model; an unknown name queues nothing', async () => {
    const h = await start([...FIX_GREETING, ...ADD_CHANGELOG], {
      file: { models },
      env: { GITHUB_WEBHOOK_SECRET: SECRET },
    });
    h.github.setPermission('alice', 'write');
    const created = await h.createTask({ instruction: 'greet() is missing a comma' });
    const first = await h.waitFor(created.body.id, isFinal);
    const pull = h.github.pulls.find((p) => p.number === first.pullRequest?.number) as StandInPull;
    const comment = (id: number, body: string) =>
      postGitHubWebhook(
        h.base,
        SECRET,
        'issue_comment',
        githubEvent('issue_comment', pull, { comment: { id, body } }),
      );

    const unknown = await comment(7, '@patchbay model=gpt-4-turbo add a changelog');
    const named = await comment(8, '@patchbay model=strong add a changelog');
    const [id] = await eventually(() =>
      followUpTaskIds(h.logLines).length ? followUpTaskIds(h.logLines) : null,
    );
    const followUp = await h.waitFor(id ?? '', isFinal);

    expect([unknown.status, named.status]).toEqual([200, 200]);
    expect(skipReasons(h.logLines).some((r) => r.includes('there is no model named "gpt-4-turbo"'))).toBe(
      true,
    );
    expect(followUpTaskIds(h.logLines)).toHaveLength(1);
    expect(followUp.model).toBe('strong');
    expect(modelsAsked(h.model.requests)).toEqual([
      ...FIX_GREETING.map(() => 'scripted'),
      'strong',
      'strong',
    ]);
  });
});

describe('Linear: a patchbay:model= label', () => {
  const start = linearPerTest();

  it('runs the issue on the model its label names', async () => {
    const s = await start(FIX_GREETING, { modes: { assignment: true }, file: { models } });
    s.linear.pin('Issue', 'issue-1', {
      labels: { nodes: [{ id: 'label-9', name: 'patchbay:model=strong' }] },
    });

    await s.send(issueAssigned());
    const progress = await eventually(() => s.inputs('commentCreate')[0], 20_000, 'progress comment');
    const task = await s.h.waitFor(taskIdIn(progress.input.body), isFinal);

    expect(task.status).toBe('succeeded');
    expect(task.model).toBe('strong');
    expect(modelsAsked(s.h.model.requests)).toEqual(['strong', 'strong', 'strong', 'strong']);
  });

  it('refuses a label naming a model that is not in models:, on the issue, with the list', async () => {
    const s = await start(FIX_GREETING, { modes: { assignment: true }, file: { models } });
    s.linear.pin('Issue', 'issue-1', {
      labels: { nodes: [{ id: 'label-9', name: 'patchbay:model=gpt-4-turbo' }] },
    });

    await s.send(issueAssigned());
    const refusal = await eventually(() => s.inputs('commentCreate')[0], 20_000, 'refusal');

    expect(String(refusal.input.body)).toContain('there is no model named "gpt-4-turbo"');
    expect(String(refusal.input.body)).toContain('`scripted`, `strong`');
    expect(queuedTaskIds(s.h)).toEqual([]);
    expect(s.h.model.requests).toHaveLength(0);
  });
});
