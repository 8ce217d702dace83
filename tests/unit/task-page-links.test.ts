import { describe, expect, it } from 'vitest';
import { toTaskPageUrl } from '../../src/config/task-page-links.js';
import { newTaskRecord } from '../../src/domain/task.js';
import { renderPullRequestBody } from '../../src/integrations/github/pr-body.js';
import { progressText as linearProgress } from '../../src/integrations/linear/comment-text.js';
import { endedText, progressText as slackProgress } from '../../src/integrations/slack/slack-text.js';

const task = newTaskRecord('t1', {
  repo: 'acme/web',
  instruction: 'x',
  conversation: 'api:c',
  origin: { source: 'api', label: 'HTTP API' },
});
const budget = { steps: 10, minutes: 5, usd: 1 };

describe('task page links', () => {
  it('makes PATCHBAY_PUBLIC_URL/tasks/<id>, whatever slashes the URL ends with, and nothing without it', () => {
    expect(toTaskPageUrl('https://pb.example/')('t1')).toBe('https://pb.example/tasks/t1');
    expect(toTaskPageUrl('https://pb.example/patchbay//')('t1')).toBe('https://pb.example/patchbay/tasks/t1');
    expect(toTaskPageUrl(undefined)('t1')).toBeUndefined();
  });

  it('links the Slack status message and the Linear progress comment when there is a page', () => {
    const url = 'https://pb.example/tasks/t1';

    expect(slackProgress(task, { stage: 'agent' }, budget, Date.now(), url)).toContain(`<${url}|task page>`);
    expect(endedText({ type: 'question', task, question: 'q' }, budget, Date.now(), url)).toContain(url);
    expect(slackProgress(task, { stage: 'agent' }, budget)).not.toContain('task page');
    expect(linearProgress(task, 'agent', undefined, url)).toContain(`[Task page](${url})`);
    expect(linearProgress(task, 'agent')).not.toContain('Task page');
  });

  it('links the PR body’s footer to the page, and only to an http(s) address', () => {
    const input = {
      taskId: 't1',
      conversation: 'api:c',
      summary: 'Done.',
      origin: task.request.origin,
      checks: [],
      usage: task.usage,
      steps: 1,
      durationMs: 1_000,
    };

    expect(renderPullRequestBody({ ...input, pageUrl: 'https://pb.example/tasks/t1' })).toContain(
      '[task page](https://pb.example/tasks/t1)',
    );
    expect(renderPullRequestBody({ ...input, pageUrl: 'javascript:alert(1)' })).not.toContain('task page');
  });
});
