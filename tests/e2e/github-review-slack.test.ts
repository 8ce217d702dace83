import { describe, expect, it } from 'vitest';
import { followUpTaskIds, githubEvent, postGitHubWebhook } from '../fakes/github-webhooks.js';
import { isFinal, REPO } from '../fakes/harness.js';
import { sessionCreated as created, linearPerTest } from '../fakes/linear-webhooks.js';
import { ADD_CHANGELOG, FIX_GREETING } from '../fakes/scripts.js';
import { slackPerTest } from '../fakes/slack-per-test.js';
import { eventually } from '../fakes/slack-requests.js';

const GITHUB_SECRET = 'e2e-github-webhook-secret-0123456789';

const startSlack = slackPerTest();

describe('GitHub review loop: a conversation that began in Slack', () => {
  it('tells the Slack thread about a follow-up asked for on the pull request', async () => {
    const {
      h,
      slack: s,
      mention,
      posts: postsIn,
    } = await startSlack([...FIX_GREETING, ...ADD_CHANGELOG], {
      env: { GITHUB_WEBHOOK_SECRET: GITHUB_SECRET },
    });
    h.github.setPermission('alice', 'write');
    const { ts } = await mention(`fix the greeting in ${REPO}`);
    const posts = () => postsIn(ts);
    const firstId = /task `(t[0-9a-z]+)`/.exec((await eventually(() => posts()[0])).args.text ?? '')?.[1];
    const first = await h.waitFor(firstId ?? '', isFinal);
    const pull = h.github.pulls[0];
    if (!pull) throw new Error('no pull request');
    await eventually(() => posts().some((p) => p.args.text?.includes('greet() now puts a comma')) || null);
    const before = posts().length;

    const res = await postGitHubWebhook(
      h.base,
      GITHUB_SECRET,
      'issue_comment',
      githubEvent('issue_comment', pull, { comment: { body: '@patchbay add a changelog entry' } }),
    );
    const [followUpId] = await eventually(() =>
      followUpTaskIds(h.logLines).length ? followUpTaskIds(h.logLines) : null,
    );
    const followUp = await h.waitFor(followUpId ?? '', isFinal);
    const echoed = await eventually(() =>
      posts()
        .slice(before)
        .find((p) => p.args.text?.includes('Added CHANGELOG.md.')),
    );
    const onPr = await eventually(() => h.github.comments.find((c) => c.issueNumber === pull.number));

    expect(first.status).toBe('succeeded');
    expect(res.status).toBe(200);
    expect(followUp.status).toBe('succeeded');
    expect(followUp.conversation).toBe(first.conversation);
    expect(followUp.branch).toBe(first.branch);
    expect(echoed.args.text).toContain(`Pull request #${pull.number}`);
    expect(onPr.body).toContain('Added CHANGELOG.md.');
    expect(h.github.pulls).toHaveLength(1);
    expect(s.unmatched).toEqual([]);
    expect(await h.audience(followUp.id)).toEqual([
      { kind: 'github-pull', repo: REPO, number: pull.number },
      { kind: 'slack-thread', team: 'T0PATCH', channel: 'C0GENERAL', threadTs: ts, messageTs: ts },
    ]);
  });
});

const startLinear = linearPerTest();

describe('GitHub review loop: a conversation that began in Linear', () => {
  it('tells the Linear agent session about a follow-up asked for on the pull request', async () => {
    const l = await startLinear([...FIX_GREETING, ...ADD_CHANGELOG], {
      env: { GITHUB_WEBHOOK_SECRET: GITHUB_SECRET },
    });
    l.h.github.setPermission('alice', 'write');
    await l.send(created());
    const first = await l.h.waitFor(await l.taskOf('session-1'), isFinal);
    const responses = () => l.activities().filter((a) => a.content.type === 'response');
    await eventually(() => responses().length === 1 || null, 20_000, 'first response');
    const pull = l.h.github.pulls[0];
    if (!pull) throw new Error('no pull request');

    const res = await postGitHubWebhook(
      l.h.base,
      GITHUB_SECRET,
      'issue_comment',
      githubEvent('issue_comment', pull, { comment: { body: '@patchbay add a changelog entry' } }),
    );
    const [followUpId] = await eventually(() =>
      followUpTaskIds(l.h.logLines).length ? followUpTaskIds(l.h.logLines) : null,
    );
    const followUp = await l.h.waitFor(followUpId ?? '', isFinal);
    const echoed = await eventually(() => responses()[1], 20_000, 'the follow-up in the session');

    expect(first.status).toBe('succeeded');
    expect(res.status).toBe(200);
    expect(followUp.status).toBe('succeeded');
    expect(followUp.conversation).toBe(first.conversation);
    expect(echoed.agentSessionId).toBe('session-1');
    expect(echoed.content.body).toContain('Added CHANGELOG.md.');
    expect(l.h.github.pulls).toHaveLength(1);
  });
});
