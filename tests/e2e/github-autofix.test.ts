import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { commitToBare, git } from '../../src/demo/git-fixtures.js';
import type { StandInCheckRun, StandInPull } from '../../src/demo/github-stand-in.js';
import type { Script, ScriptedTurn } from '../../src/demo/scripted-model.js';
import {
  autofixSkips,
  type CheckEventName,
  checkEvent,
  postGitHubWebhook,
} from '../fakes/github-webhooks.js';
import { type HarnessOptions, isFinal, logged, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { createManualClock } from '../fakes/manual-clock.js';
import { REDIS_URL } from '../fakes/redis.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { slackPerTest } from '../fakes/slack-per-test.js';
import { eventually } from '../fakes/slack-requests.js';

const SECRET = 'e2e-github-webhook-secret-autofix-0123';
const startHarness = harnessPerTest();
const remoteDir = (dir: string) => join(dir, 'remote', `${REPO}.git`);

/** An autofix round that changes something: a file of its own, then finish. */
const fixRound = (n: number): ScriptedTurn[] => [
  { tool: 'write_file', args: { path: `fix-${n}.txt`, content: `round ${n}\n` } },
  {
    tool: 'finish',
    args: { title: `Make the checks pass (${n})`, summary: `Fixed what CI reported, round ${n}.` },
  },
];

/** A GitHub Actions job log as the logs API serves it: timestamps, groups, the error, then cleanup. */
const JOB_LOG = [
  '2026-11-20T09:14:03.1022311Z ##[group]Run actions/checkout@v4',
  '2026-11-20T09:14:04.2034411Z Syncing repository: acme/web',
  '2026-11-20T09:14:04.9911002Z ##[endgroup]',
  '2026-11-20T09:14:05.0012345Z ##[group]Run npm test',
  '2026-11-20T09:14:05.0012399Z npm test',
  '2026-11-20T09:14:06.7712345Z > web@1.0.0 test',
  "2026-11-20T09:14:07.0012345Z AssertionError: greet('x') returned 'Hello x', expected 'Hello, x'",
  '2026-11-20T09:14:07.0112345Z     at test.js:2:31',
  '2026-11-20T09:14:07.2012345Z ##[error]Process completed with exit code 1.',
  '2026-11-20T09:14:08.0012345Z Post job cleanup.',
  '2026-11-20T09:14:08.5012345Z Cleaning up orphan processes',
].join('\n');

/** A failed `test` job of GitHub Actions on `sha`, with an annotation and the job's log. */
function failingJob(log = JOB_LOG): Omit<StandInCheckRun, 'id'> {
  return {
    name: 'test',
    status: 'completed',
    conclusion: 'failure',
    app: 'github-actions',
    output: { title: '1 test failed', summary: 'greet.test.js failed' },
    annotations: [
      {
        path: 'src/greet.js',
        start_line: 1,
        end_line: 1,
        annotation_level: 'failure',
        message: 'expected a comma after Hello',
      },
    ],
    job: {
      runId: 11963528106,
      steps: [
        { name: 'Set up job', number: 1, conclusion: 'success' },
        { name: 'Run npm test', number: 4, conclusion: 'failure' },
      ],
      log,
    },
  };
}

async function start(script: Script, extra: Partial<HarnessOptions> = {}) {
  const h = await startHarness(script, { ...extra, env: { GITHUB_WEBHOOK_SECRET: SECRET, ...extra.env } });
  const send = (event: CheckEventName, sha: string, branch: string, opts: { state?: string } = {}) =>
    postGitHubWebhook(h.base, SECRET, event, checkEvent(event, { sha, branch, ...opts }));
  const tipOf = async (branch: string) =>
    (await git(['--git-dir', remoteDir(h.dir), 'rev-parse', branch])).trim();
  /** Waits until the worker recorded `sha` as a task's result: check events about it count from then. */
  const recorded = (sha: string) =>
    eventually(() => logged(h, 'result commit recorded').find((l) => l.sha === sha), 20_000, `result ${sha}`);
  const followUps = () => logged(h, 'autofix follow-up queued');
  return {
    h,
    send,
    tipOf,
    recorded,
    followUps,
    /** The follow-up the autofix queued as the `n`th (1-based), once it ended. */
    async followUp(n: number) {
      const line = await eventually(() => followUps()[n - 1], 20_000, `autofix follow-up ${n}`);
      return h.waitFor(String(line.taskId), isFinal);
    },
  };
}

const commentsOn = (h: { github: { comments: Array<{ issueNumber: number; body: string }> } }, pr: number) =>
  h.github.comments.filter((c) => c.issueNumber === pr).map((c) => c.body);

describe('autofix: failing checks on Patchbay pull requests', () => {
  it('fixes a red check on its own commit in one follow-up with the failure excerpt, a new commit, the PR told', async () => {
    const { h, send, tipOf, followUp } = await start([...FIX_GREETING, ...fixRound(1)]);
    const { first, pull, tip } = await openPullRequest(h);
    h.github.checks.addCheckRun(REPO, tip, failingJob());

    const res = await send('check_run', tip, pull.head.ref);
    const task = await followUp(1);
    const reply = await eventually(() => commentsOn(h, pull.number).find((c) => c.includes('✅')));

    expect(res.status).toBe(200);
    expect(task.status).toBe('succeeded');
    expect(task.conversation).toBe(first.conversation);
    const view = (await h.get(`/api/tasks/${task.id}`)).body;
    expect(view.origin).toEqual({
      source: 'github',
      label: `Autofix: failing checks on ${REPO}#${pull.number}`,
      automation: 'autofix',
    });
    const prompt = h.model.requests.at(-2)?.raw ?? '';
    expect(prompt).toContain('Make the failing checks pass');
    expect(prompt).toContain('test (check run: failure, by github-actions)');
    expect(prompt).toContain('1 test failed');
    expect(prompt).toContain('src/greet.js:1 (failure): expected a comma after Hello');
    expect(prompt).toContain('Failed steps: Run npm test');
    expect(prompt).toContain("AssertionError: greet('x') returned 'Hello x', expected 'Hello, x'");
    expect(prompt).toContain('##[error]Process completed with exit code 1.');
    expect(prompt).not.toContain('Cleaning up orphan processes');
    expect(prompt).not.toContain('2026-11-20T09:14:07');
    const newTip = await tipOf(pull.head.ref);
    expect(newTip).not.toBe(tip);
    expect((await git(['--git-dir', remoteDir(h.dir), 'rev-parse', `${newTip}^`])).trim()).toBe(tip);
    expect(h.github.pulls).toHaveLength(1);
    const told = commentsOn(h, pull.number);
    expect(told[0]).toContain(`🔧 Checks failed on \`${tip.slice(0, 7)}\` of PR #${pull.number} (test)`);
    expect(told[0]).toContain('round 1 of 2');
    expect(reply).toContain('Fixed what CI reported, round 1.');
    expect(h.github.unmatched).toEqual([]);
  });

  it('starts one follow-up for the ten events of one commit', async () => {
    const { h, send, followUp, followUps } = await start([...FIX_GREETING, ...fixRound(1)]);
    const { pull, tip } = await openPullRequest(h);
    h.github.checks.addCheckRun(REPO, tip, failingJob());
    h.github.checks.addCheckRun(REPO, tip, {
      name: 'build',
      status: 'completed',
      conclusion: 'success',
      app: 'github-actions',
    });
    h.github.checks.addWorkflowRun(REPO, tip, { name: 'CI', status: 'completed', conclusion: 'failure' });
    h.github.checks.setStatus(REPO, tip, {
      context: 'ci/lint',
      state: 'failure',
      description: 'Lint found 1 problem',
    });
    const events: CheckEventName[] = [
      'check_run',
      'check_run',
      'check_suite',
      'workflow_run',
      'status',
      'check_run',
      'check_suite',
      'workflow_run',
      'status',
      'check_run',
    ];

    const answers = await Promise.all(events.map((event) => send(event, tip, pull.head.ref)));
    const task = await followUp(1);
    await eventually(() => commentsOn(h, pull.number).find((c) => c.includes('✅')));

    expect(answers.map((a) => a.status)).toEqual(events.map(() => 200));
    expect(task.status).toBe('succeeded');
    expect(followUps()).toHaveLength(1);
    expect(autofixSkips(h.logLines).filter((r) => r === 'already decided for this commit').length).toBe(9);
    expect(commentsOn(h, pull.number).filter((c) => c.startsWith('🔧'))).toHaveLength(1);
    expect(h.model.requests.at(-2)?.raw).toContain('ci/lint (commit status: failure)');
  });

  it("starts nothing for a red check on a person's commit, nor on the commit a person pushed over", async () => {
    const { h, send, followUps } = await start(FIX_GREETING);
    const { pull, tip } = await openPullRequest(h);
    const theirs = await commitToBare(remoteDir(h.dir), {
      branch: pull.head.ref,
      message: 'Tweak the greeting by hand',
      files: { 'src/greet.js': "export const greet = (name) => 'Hi, ' + name;\n" },
    });
    h.github.checks.addCheckRun(REPO, theirs, failingJob());
    h.github.checks.addCheckRun(REPO, tip, failingJob());

    const onTheirs = await send('check_run', theirs, pull.head.ref);
    const onOurs = await send('check_run', tip, pull.head.ref);

    expect([onTheirs.status, onOurs.status]).toEqual([200, 200]);
    expect(autofixSkips(h.logLines)).toEqual([
      'not a commit Patchbay pushed as a result',
      'the pull request moved on from this commit',
    ]);
    expect(followUps()).toEqual([]);
    expect(commentsOn(h, pull.number)).toEqual([]);
  });

  it('stops before a third round in a row and says why on the pull request', async () => {
    const { h, send, tipOf, recorded, followUp, followUps } = await start([
      ...FIX_GREETING,
      ...fixRound(1),
      ...fixRound(2),
    ]);
    const { pull, tip } = await openPullRequest(h);
    let sha = tip;
    for (const round of [1, 2]) {
      h.github.checks.addCheckRun(REPO, sha, failingJob());
      await send('check_run', sha, pull.head.ref);
      expect((await followUp(round)).status).toBe('succeeded');
      sha = await tipOf(pull.head.ref);
      await recorded(sha);
    }
    h.github.checks.addCheckRun(REPO, sha, failingJob());

    const third = await send('check_run', sha, pull.head.ref);
    const notice = await eventually(() => commentsOn(h, pull.number).find((c) => c.startsWith('⏹')));

    expect(third.status).toBe(200);
    expect(followUps()).toHaveLength(2);
    expect(notice).toContain(`Checks still fail on \`${sha.slice(0, 7)}\` of PR #${pull.number} (test)`);
    expect(notice).toContain('after 2 automatic rounds of fixes: Patchbay stops here');
    expect(
      commentsOn(h, pull.number)
        .filter((c) => c.startsWith('🔧'))
        .map((c) => c.match(/round \d of 2/)?.[0]),
    ).toEqual(['round 1 of 2', 'round 2 of 2']);
    expect(logged(h, 'autofix gave up')).toHaveLength(1);
  });

  it('redacts a secret in a job log before the model sees it', async () => {
    const { h, send, followUp } = await start([...FIX_GREETING, ...fixRound(1)]);
    const { pull, tip } = await openPullRequest(h);
    const leaked = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
    const log = JOB_LOG.replace(
      '> web@1.0.0 test',
      `> web@1.0.0 test\nnpm http fetch GET https://deploy:${leaked}@registry.example.com/web\nusing token ${h.secrets.githubToken}`,
    );
    h.github.checks.addCheckRun(REPO, tip, failingJob(log));

    await send('check_run', tip, pull.head.ref);
    await followUp(1);

    const sent = h.model.requests.map((r) => r.raw).join('\n');
    expect(sent).toContain('npm http fetch GET https://deploy:[redacted]@registry.example.com/web');
    expect(sent).toContain('using token [redacted]');
    expect(sent).not.toContain(leaked);
    expect(sent).not.toContain(h.secrets.githubToken);
  });

  it('starts nothing for a repository with `autofix: false`', async () => {
    const { h, send, followUps } = await start(FIX_GREETING, {
      file: { repositories: [{ name: REPO, check: ['node test.js'], autofix: false }] },
    });
    const { pull, tip } = await openPullRequest(h);
    h.github.checks.addCheckRun(REPO, tip, failingJob());

    const res = await send('check_run', tip, pull.head.ref);

    expect(res.status).toBe(200);
    expect(autofixSkips(h.logLines)).toEqual(['autofix is off for this repository']);
    expect(followUps()).toEqual([]);
    expect(h.github.calls.filter((c) => c.path.includes('/check-runs'))).toEqual([]);
  });
});

/** The harness's own PR through the API, once its result commit is recorded. */
async function openPullRequest(h: Awaited<ReturnType<typeof startHarness>>) {
  const created = await h.createTask({ instruction: 'greet() is missing a comma' });
  const task = await h.waitFor(created.body.id, isFinal);
  expect(task.status).toBe('succeeded');
  const pull = h.github.pulls.find((p) => p.number === task.pullRequest?.number) as StandInPull;
  const tip = (await git(['--git-dir', remoteDir(h.dir), 'rev-parse', pull.head.ref])).trim();
  await eventually(() => logged(h, 'result commit recorded').find((l) => l.sha === tip), 20_000, 'result');
  return { first: task, pull, tip };
}

describe('autofix in a conversation that began in Slack', () => {
  const startSlack = slackPerTest();

  it('waits for the other checks until 10 minutes after the first failure, then fixes; the Slack thread is told too', async () => {
    const clock = createManualClock();
    const { h, slack, mention, posts } = await startSlack([...FIX_GREETING, ...fixRound(1)], {
      env: { GITHUB_WEBHOOK_SECRET: SECRET },
      clock,
    });
    const { ts } = await mention(`fix greet in ${REPO}`);
    const first = await eventually(async () => {
      const [task] = (await h.get('/api/tasks?source=slack')).body.tasks;
      return task?.pullRequest ? task : null;
    });
    const pull = h.github.pulls[0] as StandInPull;
    const tip = (await git(['--git-dir', remoteDir(h.dir), 'rev-parse', pull.head.ref])).trim();
    await eventually(() => logged(h, 'result commit recorded').find((l) => l.sha === tip));
    h.github.checks.addCheckRun(REPO, tip, failingJob());
    h.github.checks.addCheckRun(REPO, tip, {
      name: 'e2e',
      status: 'in_progress',
      conclusion: null,
      app: 'github-actions',
    });
    const queue = new Queue(`${h.workerProcessEnv.PATCHBAY_QUEUE}-automations`, {
      connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
    });

    try {
      const res = await postGitHubWebhook(
        h.base,
        SECRET,
        'check_run',
        checkEvent('check_run', { sha: tip, branch: pull.head.ref }),
      );
      const waited = logged(h, 'autofix waits for the other checks');
      const [alarm] = await queue.getDelayed();
      clock.advance(10 * 60_000);
      await alarm?.promote();
      const line = await eventually(() => logged(h, 'autofix follow-up queued')[0]);
      const task = await h.waitFor(String(line.taskId), isFinal);
      const told = await eventually(() => posts(ts).find((p) => p.args.text?.startsWith('🔧')));

      expect(res.status).toBe(200);
      expect(waited).toHaveLength(1);
      expect(alarm?.name).toBe('alarm');
      expect(alarm?.opts.delay).toBe(10 * 60_000);
      expect(task.status).toBe('succeeded');
      expect(task.conversation).toBe(first.conversation);
      expect(told.args.text).toBe(
        `🔧 Checks failed on \`${tip.slice(0, 7)}\` of PR #${pull.number} (test): Patchbay is working on a fix, round 1 of 2.`,
      );
      expect(await h.audience(task.id)).toEqual([
        { kind: 'github-pull', repo: REPO, number: pull.number },
        expect.objectContaining({ kind: 'slack-thread', threadTs: ts }),
      ]);
      expect(commentsOn(h, pull.number)[0]).toContain('round 1 of 2');
      expect(slack.unmatched).toEqual([]);
    } finally {
      await queue.close();
    }
  });
});
