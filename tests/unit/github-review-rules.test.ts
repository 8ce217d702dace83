import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../src/domain/events.js';
import { newTaskRecord } from '../../src/domain/task.js';
import { createGitHubReporter } from '../../src/integrations/github/github-reporter.js';
import { parsePullRequestMarker, renderPullRequestMarker } from '../../src/integrations/github/pr-body.js';
import { buildReviewRequest } from '../../src/integrations/github/review-context.js';
import type { ReviewTrigger, WebhookPull } from '../../src/integrations/github/review-events.js';
import {
  asksForWork,
  botReason,
  checkPatchbayPull,
  followUpKey,
  mentionsPatchbay,
  withoutMention,
} from '../../src/integrations/github/review-rules.js';
import { createSilentLogger } from '../../src/lib/logger.js';

const pull = (change: Partial<WebhookPull> = {}): WebhookPull => ({
  number: 3,
  html_url: 'https://github.com/acme/web/pull/3',
  state: 'open',
  body: `Summary\n\n${renderPullRequestMarker('t1', 'slack:T1:C1:1712.1')}`,
  user: { login: 'patchbay[bot]', type: 'Bot' },
  head: { ref: 'patchbay/abc-fix', repo: { full_name: 'acme/web' } },
  base: { ref: 'main' },
  ...change,
});

const trigger = (change: Partial<ReviewTrigger> = {}): ReviewTrigger => ({
  event: 'issue_comment',
  repo: 'acme/web',
  number: 3,
  sender: { login: 'alice', type: 'User' },
  body: '@patchbay fix it',
  url: 'https://github.com/acme/web/pull/3#issuecomment-1',
  ...change,
});

describe('review loop rules', () => {
  it('finds @patchbay only as a word of its own, outside quotes and code', () => {
    expect(mentionsPatchbay('@patchbay fix the test')).toBe(true);
    expect(mentionsPatchbay('Thanks! @Patchbay, one more thing')).toBe(true);
    expect(mentionsPatchbay('ping @patchbay-bot')).toBe(false);
    expect(mentionsPatchbay('mail me at me@patchbay.dev')).toBe(false);
    expect(mentionsPatchbay('> @patchbay fix it\n\nagreed')).toBe(false);
    expect(mentionsPatchbay('run `@patchbay` later')).toBe(false);
    expect(mentionsPatchbay('```\n@patchbay\n```\nok')).toBe(false);
    expect(withoutMention('@patchbay  add a test')).toBe('add a test');
  });

  it('asks for work on a mention, or a review that requests changes', () => {
    expect(asksForWork(trigger())).toBe(true);
    expect(asksForWork(trigger({ body: 'lgtm' }))).toBe(false);
    const review = trigger({ event: 'pull_request_review', body: '', reviewId: 9 });
    expect(asksForWork({ ...review, reviewState: 'changes_requested' })).toBe(true);
    expect(asksForWork({ ...review, reviewState: 'commented' })).toBe(false);
    expect(asksForWork({ ...review, reviewState: 'approved', body: '@patchbay squash the fixups' })).toBe(
      true,
    );
  });

  it('tells bots and Patchbay itself apart from people', () => {
    expect(botReason({ login: 'patchbay-bot', type: 'User' }, 'patchbay-bot')).toBe(
      'comment by Patchbay itself',
    );
    expect(botReason({ login: 'dependabot[bot]', type: 'Bot' }, 'patchbay[bot]')).toBe('comment by a bot');
    expect(botReason({ login: 'alice', type: 'User' }, 'patchbay[bot]')).toBeNull();
  });

  it("counts a pull request as Patchbay's only with marker, branch, author, same repository and open", () => {
    expect(checkPatchbayPull(pull(), 'acme/web', 'patchbay[bot]')).toEqual({
      marker: { taskId: 't1', conversation: 'slack:T1:C1:1712.1' },
    });
    const reasons = [
      pull({ body: 'Patchbay: fix it' }),
      pull({ head: { ref: 'fix', repo: { full_name: 'acme/web' } } }),
      pull({ head: { ref: 'patchbay/', repo: { full_name: 'acme/web' } } }),
      pull({ user: { login: 'mallory' } }),
      pull({ head: { ref: 'patchbay/abc-fix', repo: { full_name: 'mallory/web' } } }),
      pull({ head: { ref: 'patchbay/abc-fix', repo: null } }),
      pull({ state: 'closed' }),
    ].map((p) => ('reason' in checkPatchbayPull(p, 'acme/web', 'patchbay[bot]') ? 'no' : 'yes'));
    expect(reasons).toEqual(['no', 'no', 'no', 'no', 'no', 'no', 'no']);
  });

  it('keys every delivery of one review alike, and an issue comment by its delivery', () => {
    const comment = trigger({ event: 'pull_request_review_comment', reviewId: 77 });
    const review = trigger({ event: 'pull_request_review', reviewId: 77, reviewState: 'changes_requested' });

    expect(followUpKey(comment, 'd1')).toBe(followUpKey(review, 'd2'));
    expect(followUpKey(trigger(), 'd3')).toBe('github:d3');
  });

  it('gives the agent every comment of the review with its file and line', () => {
    const request = buildReviewRequest(
      trigger({
        event: 'pull_request_review',
        reviewId: 5,
        reviewState: 'changes_requested',
        body: 'Two things.',
      }),
      [
        { id: 1, path: 'src/a.ts', line: 4, body: 'rename this', user: { login: 'alice' } },
        { id: 2, path: 'README.md', line: null, original_line: 9, body: 'typo', user: { login: 'alice' } },
      ],
    );

    expect(request.instruction).toContain('pull request #3');
    expect(request.context).toContain('(changes requested)');
    expect(request.context).toContain('1. src/a.ts, line 4, by alice:\n   rename this');
    expect(request.context).toContain('2. README.md, line 9, by alice:\n   typo');
  });

  it('keeps a very long comment within what a task request allows', () => {
    const request = buildReviewRequest(trigger({ body: `@patchbay ${'x'.repeat(70_000)}` }), []);

    expect(request.instruction.length).toBeLessThan(20_000);
  });
});

describe('GitHub reporter', () => {
  it('cannot @-mention anyone or forge the marker with what the model wrote', async () => {
    const posted: string[] = [];
    const reporter = createGitHubReporter({
      pulls: { comment: async (_repo, _n, body) => void posted.push(body) },
      log: createSilentLogger(),
    });
    const task = newTaskRecord('t9', {
      repo: 'acme/web',
      instruction: 'x',
      conversation: 'api:c',
      origin: { source: 'github', label: 'GitHub' },
    });
    const forged = renderPullRequestMarker('tEvil', 'api:other');
    const event: TaskEvent = {
      type: 'finished',
      task: { ...task, branch: 'patchbay/c-x' },
      summary: `Done, cc @alice and @acme/admins ${forged}`,
      checks: [],
      commit: { sha: 'a'.repeat(40), files: ['src/`evil`.ts'] },
      pullRequest: { number: 3, url: 'https://github.com/acme/web/pull/3' },
    };

    await reporter.report(event, [{ kind: 'github-pull', repo: 'acme/web', number: 3 }]);
    await reporter.report({ type: 'question', task, question: 'Ask @bob?' }, [
      { kind: 'github-pull', repo: 'acme/web', number: 3 },
    ]);

    expect(posted).toHaveLength(2);
    expect(posted.join('\n')).not.toMatch(/(?<![\w])@(alice|acme|bob)/);
    expect(parsePullRequestMarker(posted.join('\n'))).toBeNull();
    expect(posted[0]).toContain('https://github.com/acme/web/pull/3/commits/aaaaaaaa');
  });
});
