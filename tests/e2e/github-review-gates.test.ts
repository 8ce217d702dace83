import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitToBare, git } from '../../src/demo/git-fixtures.js';
import type { StandInPull } from '../../src/demo/github-stand-in.js';
import type { Script } from '../../src/demo/scripted-model.js';
import { renderPullRequestMarker } from '../../src/integrations/github/pr-body.js';
import {
  followUpTaskIds,
  type GitHubEventName,
  githubEvent,
  postGitHubWebhook,
  skipReasons,
} from '../fakes/github-webhooks.js';
import { isFinal, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { ADD_CHANGELOG, FIX_GREETING } from '../fakes/scripts.js';
import { eventually } from '../fakes/slack-requests.js';

const SECRET = 'e2e-github-webhook-secret-0123456789';
const startHarness = harnessPerTest();

async function start(script: Script, worker = false, githubAuth: 'token' | 'app' = 'token') {
  const h = await startHarness(script, { worker, githubAuth, env: { GITHUB_WEBHOOK_SECRET: SECRET } });
  h.github.setPermission('alice', 'write');
  h.github.setPermission('mallory', 'read');
  h.github.setPermission('tom', 'triage');
  /** A PR as GitHub would show it: Patchbay's by default, any part overridable. */
  const addPull = (change: Partial<StandInPull> & { branch?: string; conversation?: string } = {}) => {
    const branch = change.branch ?? 'patchbay/c0ffee-manual';
    return h.github.addPull({
      repo: REPO,
      head: { ref: branch, label: `acme:${branch}` },
      base: { ref: 'main' },
      title: 'Tidy the greeting',
      body: `Summary.\n\n${renderPullRequestMarker('t0old', change.conversation ?? 'api:manual')}`,
      draft: true,
      user: { login: 'patchbay[bot]' },
      ...change,
    });
  };
  const send = (event: GitHubEventName | string, body: Record<string, unknown> | string, opts = {}) =>
    postGitHubWebhook(h.base, SECRET, event, body, opts);
  const comment = (pull: StandInPull, login: string, text = '@patchbay tidy this up', type = 'User') =>
    send(
      'issue_comment',
      githubEvent('issue_comment', pull, {
        sender: { login, type },
        comment: { id: Math.floor(Math.random() * 1e9), body: text },
      }),
    );
  return { h, addPull, send, comment };
}

describe('GitHub review loop: who and which pull requests', () => {
  it('starts nothing for people without write access, for Patchbay itself or other bots', async () => {
    const { h, addPull, comment } = await start([]);
    const pull = addPull();

    const answers = await Promise.all([
      comment(pull, 'mallory'),
      comment(pull, 'tom'),
      comment(pull, 'patchbay[bot]', '@patchbay done, see above', 'Bot'),
      comment(pull, 'dependabot[bot]', '@patchbay rebase', 'Bot'),
      comment(pull, 'renovate-app[bot]', '@patchbay rebase', 'User'),
      comment(pull, 'alice', 'looks good to me, thanks patchbay'),
      comment(pull, 'alice', '> @patchbay tidy this up\n\nI agree with the above'),
    ]);
    await eventually(() => skipReasons(h.logLines).length >= 7 || null);

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200, 200]);
    expect(followUpTaskIds(h.logLines)).toEqual([]);
    expect(h.github.reactions).toEqual([]);
    expect(skipReasons(h.logLines).sort()).toEqual(
      [
        'sender has no write access',
        'sender has no write access',
        'comment by Patchbay itself',
        'comment by a bot',
        'comment by a bot',
        'does not ask Patchbay for anything',
        'does not ask Patchbay for anything',
      ].sort(),
    );
    expect(h.github.unmatched).toEqual([]);
  });

  it('counts a custom role by the base role it extends', async () => {
    const { h, addPull, comment } = await start([]);
    h.github.setPermission('carol', 'release-manager', 'write');
    h.github.setPermission('dana', 'auditor', 'read');
    const pull = addPull();

    const answers = await Promise.all([comment(pull, 'carol'), comment(pull, 'dana')]);
    await eventually(() => skipReasons(h.logLines)[0]);

    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(followUpTaskIds(h.logLines)).toHaveLength(1);
    expect(skipReasons(h.logLines)).toEqual(['sender has no write access']);
  });

  it('ignores pull requests that are not Patchbay’s: no marker, another branch, another author, a fork, closed', async () => {
    const { h, addPull, comment } = await start([]);
    const pulls = [
      addPull({ body: 'A PR a person opened; title says Patchbay.', title: 'Patchbay: fix it' }),
      addPull({ branch: 'feature/greeting' }),
      addPull({ user: { login: 'mallory' } }),
      addPull({
        head: { ref: 'patchbay/c0ffee-manual', label: 'mallory:patchbay/c0ffee-manual', repo: 'mallory/web' },
      }),
      addPull({ state: 'closed' }),
    ];

    const answers = await Promise.all(pulls.map((p) => comment(p, 'alice')));
    await eventually(() => skipReasons(h.logLines).length >= pulls.length || null);

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(followUpTaskIds(h.logLines)).toEqual([]);
    expect(h.github.reactions).toEqual([]);
    expect(skipReasons(h.logLines).sort()).toEqual(
      [
        'pull request has no Patchbay marker',
        'head branch is not a patchbay/ branch',
        'pull request was not opened by Patchbay',
        'head branch is in another repository (a fork)',
        'pull request is not open',
      ].sort(),
    );
  });

  it('knows itself as <slug>[bot] in GitHub App mode and reacts as the installation', async () => {
    const { h, addPull, comment } = await start([], false, 'app');
    const pull = addPull();

    const own = await comment(pull, 'patchbay[bot]', '@patchbay noted', 'Bot');
    const asked = await comment(pull, 'alice');
    await eventually(() => h.github.reactions[0]);

    expect([own.status, asked.status]).toEqual([200, 200]);
    expect(followUpTaskIds(h.logLines)).toHaveLength(1);
    expect(skipReasons(h.logLines)).toEqual(['comment by Patchbay itself']);
    expect(h.github.calls.filter((c) => c.path === '/app')).toHaveLength(1);
    const reaction = h.github.calls.find((c) => c.path.endsWith('/reactions'));
    expect(reaction?.headers.authorization).toBe(`token ${h.github.installationTokens[0]?.token}`);
    expect(h.github.jwtRejections).toEqual([]);
    expect(h.github.unmatched).toEqual([]);
  });

  it('refuses forged and unsigned deliveries, rejects malformed ones, reads form-encoded ones, and answers 200 to events it does not handle', async () => {
    const { h, addPull, send } = await start([]);
    const pull = addPull();
    const body = JSON.stringify(githubEvent('issue_comment', pull, { sender: { login: 'alice' } }));
    const forgedSignature = `sha256=${createHmac('sha256', 'not-the-secret').update(body).digest('hex')}`;

    const forged = await send('issue_comment', body, { signature: forgedSignature });
    const unsigned = await send('issue_comment', body, { signature: null });
    const tampered = await send('issue_comment', body.replace('alice', 'alicf'), {
      signature: `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
    });
    const notJson = await send('issue_comment', '{"action": "created",');
    const wrongShape = await send('issue_comment', { action: 'created', issue: { number: 'x' } });
    const push = await send('push', { ref: 'refs/heads/main', repository: { full_name: REPO } });
    const edited = await send('issue_comment', { ...JSON.parse(body), action: 'edited' });
    const form = await send('issue_comment', body, { form: true });

    expect([forged.status, unsigned.status, tampered.status]).toEqual([401, 401, 401]);
    expect([notJson.status, wrongShape.status]).toEqual([400, 400]);
    expect([push.status, edited.status]).toEqual([200, 200]);
    expect(form.status).toBe(200);
    expect(skipReasons(h.logLines)).toEqual(['event not handled', 'action edited']);
    expect(followUpTaskIds(h.logLines)).toHaveLength(1);
    expect(h.logLines.join('')).not.toContain(SECRET);
    expect(h.logLines.join('')).not.toContain('@patchbay');
  });

  it('answers 503 when it cannot decide or queue, and a redelivery of the same delivery then works once', async () => {
    const { h, addPull, send } = await start([]);
    const pull = addPull();
    h.github.failNext('GET /repos/:owner/:repo/collaborators/:user/permission', 403, 1, {
      message: 'Resource not accessible by integration',
      headers: {},
    });
    const body = githubEvent('issue_comment', pull, { comment: { id: 555 } });

    const failed = await send('issue_comment', body);
    const redelivered = await send('issue_comment', body, { deliveryId: failed.deliveryId });
    const again = await send('issue_comment', body, { deliveryId: failed.deliveryId });

    expect([failed.status, redelivered.status, again.status]).toEqual([503, 200, 200]);
    expect(followUpTaskIds(h.logLines)).toHaveLength(1);
    expect(h.logLines.join('')).toContain('github webhook not queued');
  });

  it('puts no 👀 on a delivery it could not queue, and one on its redelivery that it queued', async () => {
    const { h, addPull, send } = await start([]);
    const pull = addPull();
    h.github.setReviewComments(REPO, 77, [
      { id: 701, path: 'src/greet.js', line: 1, body: '@patchbay tidy', user: { login: 'alice' } },
    ]);
    h.github.failNext('GET /repos/:owner/:repo/pulls/:number/reviews/:id/comments', 403, 1, {
      message: 'Resource not accessible by integration',
      headers: {},
    });
    const body = githubEvent('pull_request_review_comment', pull, {
      comment: { id: 701, body: '@patchbay tidy', pull_request_review_id: 77 },
      sender: { login: 'alice' },
    });

    // Answered after its handler gave up, before queueing; the 👀 goes out only once work is queued.
    const failed = await send('pull_request_review_comment', body);
    const eyesAfterFailure = h.github.reactions.length;
    const queuedAfterFailure = followUpTaskIds(h.logLines).length;
    const redelivered = await send('pull_request_review_comment', body, { deliveryId: failed.deliveryId });
    await eventually(() => h.github.reactions[0]);

    expect([failed.status, redelivered.status]).toEqual([503, 200]);
    expect(eyesAfterFailure).toBe(0);
    expect(queuedAfterFailure).toBe(0);
    expect(h.github.reactions).toEqual([expect.objectContaining({ commentId: 701, content: 'eyes' })]);
    expect(followUpTaskIds(h.logLines)).toHaveLength(1);
  });

  it('does not let a marker edited to name another pull request’s conversation steer it', async () => {
    const { h, addPull, comment } = await start(FIX_GREETING, true);
    const created = await h.createTask({ instruction: 'greet() is missing a comma' });
    const victim = await h.waitFor(created.body.id, isFinal);
    // The API shows its conversations without their `api:` namespace.
    const edited = addPull({ branch: 'patchbay/0badc0de-other', conversation: `api:${victim.conversation}` });

    const res = await comment(edited, 'alice', '@patchbay delete the tests');
    await eventually(() => skipReasons(h.logLines)[0]);

    expect(victim.pullRequest?.number).toBeDefined();
    expect(victim.pullRequest?.number).not.toBe(edited.number);
    expect(res.status).toBe(200);
    expect(skipReasons(h.logLines)).toEqual(['the marker names a conversation of another pull request']);
    expect(followUpTaskIds(h.logLines)).toEqual([]);
    expect(h.github.reactions).toEqual([]);
  });

  it('re-creates an expired conversation from the pull request and works on its branch', async () => {
    const { h, addPull, comment } = await start(ADD_CHANGELOG, true);
    const branch = 'patchbay/c0ffee-manual';
    const remote = join(h.dir, 'remote', `${REPO}.git`);
    await git(['--git-dir', remote, 'branch', branch, 'main']);
    await commitToBare(remote, {
      branch,
      message: 'Earlier Patchbay work',
      files: { 'NOTES.md': 'earlier\n' },
    });
    const pull = addPull({ branch, conversation: 'api:expired-long-ago' });

    const res = await comment(pull, 'alice', '@patchbay add a changelog entry');
    const [id] = await eventually(() =>
      followUpTaskIds(h.logLines).length ? followUpTaskIds(h.logLines) : null,
    );
    const task = await h.waitFor(id ?? '', isFinal);

    expect(res.status).toBe(200);
    expect(task.status).toBe('succeeded');
    // Not revived under the marker's id: that may name a conversation with no state yet (one queued
    // in Slack), which the PR's branch would then take over.
    expect(task.conversation).toBe(`github:${REPO}/pull/${pull.number}`);
    expect(task.branch).toBe(branch);
    expect(task.pullRequest?.number).toBe(pull.number);
    expect(await h.git.log(REPO, branch)).toEqual([
      'Add a changelog entry',
      'Earlier Patchbay work',
      'Initial commit',
    ]);
    expect(h.github.pulls).toHaveLength(1);
  });
});
