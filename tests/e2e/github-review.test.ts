import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitToBare, fastImportCommit, fixtureGitEnv, git } from '../../src/demo/git-fixtures.js';
import type { StandInPull } from '../../src/demo/github-stand-in.js';
import type { Script, ScriptedTurn } from '../../src/demo/scripted-model.js';
import {
  followUpTaskIds,
  type GitHubEventName,
  githubEvent,
  postGitHubWebhook,
} from '../fakes/github-webhooks.js';
import type { HarnessOptions } from '../fakes/harness.js';
import { isFinal, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { ADD_CHANGELOG, FIX_GREETING } from '../fakes/scripts.js';
import { eventually } from '../fakes/slack-requests.js';

const SECRET = 'e2e-github-webhook-secret-0123456789';
const startHarness = harnessPerTest();

async function start(script: Script, extra: Partial<HarnessOptions> = {}) {
  const h = await startHarness(script, { ...extra, env: { GITHUB_WEBHOOK_SECRET: SECRET, ...extra.env } });
  h.github.setPermission('alice', 'write');
  const send = (event: GitHubEventName | string, body: Record<string, unknown> | string, opts = {}) =>
    postGitHubWebhook(h.base, SECRET, event, body, opts);
  return {
    h,
    send,
    /** A task through the API that ends in a PR; the stand-in's PR and the branch's tip. */
    async openPullRequest(instruction = 'greet() is missing a comma') {
      const created = await h.createTask({ instruction });
      const task = await h.waitFor(created.body.id, isFinal);
      expect(task.status).toBe('succeeded');
      const pull = h.github.pulls.find((p) => p.number === task.pullRequest?.number) as StandInPull;
      const tip = (await git(['--git-dir', remoteDir(h.dir), 'rev-parse', pull.head.ref])).trim();
      return { task, pull, tip };
    },
    async followUps(count: number) {
      const ids = await eventually(() => {
        const found = followUpTaskIds(h.logLines);
        return found.length >= count ? found : null;
      });
      return Promise.all(ids.map((id) => h.waitFor(id, isFinal)));
    },
  };
}

const remoteDir = (dir: string) => join(dir, 'remote', `${REPO}.git`);
const isAncestor = (dir: string, older: string, newer: string) =>
  git(['--git-dir', remoteDir(dir), 'merge-base', '--is-ancestor', older, newer]).then(
    () => true,
    () => false,
  );

describe('GitHub review loop: follow-ups on Patchbay pull requests', () => {
  it('turns a review and its inline comments into one follow-up on the same branch, with 👀 and a reply', async () => {
    const { h, send, openPullRequest, followUps } = await start([...FIX_GREETING, ...ADD_CHANGELOG]);
    const { pull, tip } = await openPullRequest();
    const reviewId = 2412998841;
    h.github.setReviewComments(REPO, reviewId, [
      {
        id: 1859023374,
        path: 'src/greet.js',
        line: 1,
        body: '@patchbay add a CHANGELOG.md entry for this',
        user: { login: 'alice' },
        diff_hunk: '@@ -1 +1 @@\n+export const greet = (name) => `Hello, ${name}`;',
      },
      {
        id: 1859023375,
        path: 'test.js',
        line: 2,
        body: 'and keep this test as it is',
        user: { login: 'alice' },
      },
    ]);

    const comment = await send(
      'pull_request_review_comment',
      githubEvent('pull_request_review_comment', pull, { comment: { pull_request_review_id: reviewId } }),
    );
    const quiet = await send(
      'pull_request_review_comment',
      githubEvent('pull_request_review_comment', pull, {
        comment: { id: 1859023375, pull_request_review_id: reviewId, body: 'and keep this test as it is' },
      }),
    );
    const review = await send(
      'pull_request_review',
      githubEvent('pull_request_review', pull, { review: { id: reviewId } }),
    );
    const eyes = await eventually(() => h.github.reactions.find((r) => r.commentId === 1859023374));
    const [followUp] = await followUps(1);
    const reply = await eventually(() => h.github.comments.find((c) => c.issueNumber === pull.number));

    expect([comment.status, quiet.status, review.status]).toEqual([200, 200, 200]);
    expect(eyes).toMatchObject({ kind: 'review_comment', content: 'eyes' });
    expect(followUp?.status).toBe('succeeded');
    expect(followUp?.branch).toBe(pull.head.ref);
    expect(followUpTaskIds(h.logLines)).toHaveLength(1);
    expect(h.github.pulls).toHaveLength(1);
    const newTip = (await git(['--git-dir', remoteDir(h.dir), 'rev-parse', pull.head.ref])).trim();
    expect(newTip).not.toBe(tip);
    expect(await isAncestor(h.dir, tip, newTip)).toBe(true);
    expect(await h.git.readFile(REPO, pull.head.ref, 'CHANGELOG.md')).toContain('greeting fixed');
    const prompt = h.model.requests.at(-1)?.raw ?? '';
    expect(prompt).toContain('src/greet.js, line 1');
    expect(prompt).toContain('add a CHANGELOG.md entry for this');
    expect(prompt).toContain('test.js, line 2');
    expect(prompt).toContain('and keep this test as it is');
    expect(reply.body).toContain('✅');
    expect(reply.body).toContain('Added CHANGELOG.md.');
    expect(reply.body).toContain(newTip.slice(0, 12));
    expect(reply.body).toContain('`CHANGELOG.md`');
    expect(h.github.unmatched).toEqual([]);
  });

  it('takes an @patchbay issue comment as a follow-up, and a redelivery runs nothing new', async () => {
    const { h, send, openPullRequest, followUps } = await start([...FIX_GREETING, ...ADD_CHANGELOG]);
    const { pull, tip } = await openPullRequest();
    const body = githubEvent('issue_comment', pull, {
      comment: { id: 4242, body: '@patchbay please also add a changelog entry' },
    });

    const first = await send('issue_comment', body);
    // Answered after its handler found the first delivery's task: it queues nothing and reacts to nothing.
    const again = await send('issue_comment', body, { deliveryId: first.deliveryId });
    const [followUp] = await followUps(1);

    expect([first.status, again.status]).toEqual([200, 200]);
    expect(followUp?.status).toBe('succeeded');
    expect(followUpTaskIds(h.logLines)).toHaveLength(1);
    expect(h.github.reactions.filter((r) => r.commentId === 4242)[0]).toMatchObject({
      kind: 'issue_comment',
      content: 'eyes',
    });
    const newTip = (await git(['--git-dir', remoteDir(h.dir), 'rev-parse', pull.head.ref])).trim();
    expect(await isAncestor(h.dir, tip, newTip)).toBe(true);
    expect(h.model.requests.at(-1)?.raw).toContain('please also add a changelog entry');
    const reply = await eventually(() => h.github.comments.find((c) => c.issueNumber === pull.number));
    expect(reply.body).toContain('Added CHANGELOG.md.');
    expect(h.github.comments).toHaveLength(1);
    expect(await h.audience(followUp?.id ?? '')).toEqual([
      { kind: 'github-pull', repo: REPO, number: pull.number },
    ]);
  });

  it('asks its question on the pull request and takes the next @patchbay comment as the answer', async () => {
    const asks: ScriptedTurn = {
      tool: 'ask_user',
      args: { question: 'Which file, @alice: CHANGELOG.md or NEWS?' },
    };
    const { h, send, openPullRequest } = await start([...FIX_GREETING, asks, ...ADD_CHANGELOG]);
    const { pull } = await openPullRequest();
    const prComments = () => h.github.comments.filter((c) => c.issueNumber === pull.number);

    await send(
      'issue_comment',
      githubEvent('issue_comment', pull, { comment: { body: '@patchbay add a changelog' } }),
    );
    const question = await eventually(() => prComments()[0]);
    await send(
      'issue_comment',
      githubEvent('issue_comment', pull, { comment: { id: 99, body: '@patchbay CHANGELOG.md' } }),
    );
    const done = await eventually(() => prComments()[1]);
    const [id] = followUpTaskIds(h.logLines);
    const task = await h.waitFor(id ?? '', isFinal);

    expect(question.body).toContain('Which file, @\u200balice: CHANGELOG.md or NEWS?');
    expect(question.body).toContain('`@patchbay`');
    expect(done.body).toContain('Added CHANGELOG.md.');
    expect(task.status).toBe('succeeded');
    expect(new Set(followUpTaskIds(h.logLines))).toEqual(new Set([id]));
    expect(h.model.requests.at(-1)?.raw).toContain('CHANGELOG.md');
  });

  it('reports on the pull request too when a PR comment answers a question asked elsewhere', async () => {
    const asks: ScriptedTurn = { tool: 'ask_user', args: { question: 'CHANGELOG.md or NEWS?' } };
    const { h, send, openPullRequest } = await start([...FIX_GREETING, asks, ...ADD_CHANGELOG]);
    const { task: first, pull } = await openPullRequest();
    const prComments = () => h.github.comments.filter((c) => c.issueNumber === pull.number);
    const followUp = await h.createTask({ instruction: 'add a changelog', conversation: first.conversation });
    await h.waitFor(followUp.body.id, (t) => t.status === 'waiting_for_input');

    const res = await send(
      'issue_comment',
      githubEvent('issue_comment', pull, { comment: { body: '@patchbay CHANGELOG.md please' } }),
    );
    const task = await h.waitFor(followUp.body.id, isFinal);
    const reply = await eventually(() => prComments().find((c) => c.body.includes('Added CHANGELOG.md.')));

    expect(res.status).toBe(200);
    expect(task.status).toBe('succeeded');
    expect(task.conversation).toBe(first.conversation);
    expect(reply.body).toContain('Done');
    expect(followUpTaskIds(h.logLines)).toEqual([followUp.body.id]);
    expect(await h.audience(followUp.body.id)).toEqual([
      { kind: 'github-pull', repo: REPO, number: pull.number },
    ]);
  });

  it('builds on commits a person pushed to the branch before the follow-up', async () => {
    const looksForHuman: Script = [
      ...FIX_GREETING,
      { tool: 'bash', args: { command: 'git log --format=%s -n 3; cat HUMAN.md' } },
      ...ADD_CHANGELOG,
    ];
    const { h, send, openPullRequest, followUps } = await start(looksForHuman);
    const { pull } = await openPullRequest();
    await commitToBare(remoteDir(h.dir), {
      branch: pull.head.ref,
      message: 'Human tweak on the PR branch',
      files: { 'HUMAN.md': 'written by a person\n' },
      time: 1_800_000_000,
    });

    await send(
      'issue_comment',
      githubEvent('issue_comment', pull, { comment: { body: '@patchbay add a changelog' } }),
    );
    const [followUp] = await followUps(1);

    expect(followUp?.status).toBe('succeeded');
    const sawTree = h.model.requests.map((r) => r.raw).join('\n');
    expect(sawTree).toContain('Human tweak on the PR branch');
    expect(sawTree).toContain('written by a person');
    const log = await h.git.log(REPO, pull.head.ref);
    expect(log.slice(0, 3)).toEqual([
      'Add a changelog entry',
      'Human tweak on the PR branch',
      'Fix the greeting punctuation',
    ]);
  });

  it('puts its commit on top of one a person pushed while the agent worked, without forcing', async () => {
    let remote = '';
    let branch = '';
    const turns: ScriptedTurn[] = [...FIX_GREETING, ...ADD_CHANGELOG];
    const script: Script = (_req, turn) => {
      // While the follow-up's agent works (its first turn), a person pushes to the PR branch.
      if (turn === FIX_GREETING.length) pushAsPerson(remote, branch);
      return turns[turn] ?? { content: 'out of script' };
    };
    const { h, send, openPullRequest, followUps } = await start(script);
    const { pull, tip } = await openPullRequest();
    remote = remoteDir(h.dir);
    branch = pull.head.ref;

    await send(
      'issue_comment',
      githubEvent('issue_comment', pull, { comment: { body: '@patchbay changelog please' } }),
    );
    const [followUp] = await followUps(1);

    expect(followUp?.status).toBe('succeeded');
    expect(await h.git.log(REPO, branch)).toEqual([
      'Add a changelog entry',
      'Pushed by a person during the run',
      'Fix the greeting punctuation',
      'Initial commit',
    ]);
    expect(await h.git.readFile(REPO, branch, 'PERSON.md')).toBe('mine\n');
    expect(await isAncestor(h.dir, tip, branch)).toBe(true);
    expect(h.logLines.join('')).toContain('branch moved on the remote; replaying onto it');
    const pushed = (await git(['--git-dir', remote, 'rev-parse', branch])).trim();
    const reply = await eventually(() => h.github.comments.find((c) => c.issueNumber === pull.number));
    expect(reply.body).toContain(`[\`${pushed.slice(0, 12)}\`](${pull.html_url}/commits/${pushed})`);
  });
});

/** A commit on `branch` of the bare remote, made synchronously (the scripted model's turn is sync). */
function pushAsPerson(remote: string, branch: string): void {
  const env = fixtureGitEnv();
  const parent = execFileSync('git', ['--git-dir', remote, 'rev-parse', branch], {
    env,
    encoding: 'utf8',
  }).trim();
  const commit = fastImportCommit(
    {
      branch,
      message: 'Pushed by a person during the run',
      files: { 'PERSON.md': 'mine\n' },
      time: 1_800_000_000,
    },
    parent,
  );
  execFileSync('git', ['--git-dir', remote, 'fast-import', '--quiet', '--done'], {
    env,
    input: Buffer.concat([commit, Buffer.from('done\n')]),
  });
}
