import { describe, expect, it } from 'vitest';
import { type GitHubStandIn, type StandInRepo, startGitHubStandIn } from '../../src/demo/github-stand-in.js';
import { createOctokit, type GitHubClient } from '../../src/integrations/github/create-octokit.js';
import { parsePullRequestMarker, renderPullRequestMarker } from '../../src/integrations/github/pr-body.js';
import { createPullRequests, type OpenPullRequest } from '../../src/integrations/github/pull-requests.js';
import { createLogger, type Logger } from '../../src/lib/logger.js';
import { rejection } from '../fakes/git-remote.js';
import { standInPerTest } from '../fakes/stand-in-per-test.js';

const TOKEN = 'ghs_standInSecret0123456789abcdef';
const MARKER = renderPullRequestMarker('task-1', 'api:conv-1');

let github: GitHubStandIn | undefined;
const track = standInPerTest<GitHubStandIn>();

async function setUp(
  opts: { repos?: StandInRepo[]; prefix?: string; retries?: number; token?: string } = {},
) {
  github = track(
    await startGitHubStandIn({
      repos: opts.repos ?? [{ name: 'acme/web', defaultBranch: 'trunk', private: true }],
      token: TOKEN,
      prefix: opts.prefix,
    }),
  );
  const captured = captureLog();
  const octokit = createOctokit({
    token: opts.token ?? TOKEN,
    baseUrl: github.url,
    log: captured.log,
    retries: opts.retries,
  });
  return { github, octokit, ...captured, ...clients(octokit, captured.log) };
}

function clients(octokit: GitHubClient, log: Logger) {
  return { prs: createPullRequests({ octokit, log }) };
}

function captureLog() {
  const lines: string[] = [];
  const log = createLogger({ level: 'trace', destination: { write: (line: string) => lines.push(line) } });
  return { log, lines };
}

function aRequest(overrides: Partial<OpenPullRequest> = {}): OpenPullRequest {
  return {
    repo: 'acme/web',
    branch: 'patchbay/ENG-1-fix-login',
    base: 'trunk',
    title: 'Fix login',
    body: `Fixes the login form.\n\n${MARKER}`,
    draft: true,
    ...overrides,
  };
}

describe('pull requests', () => {
  it('opens a draft PR from the task branch', async () => {
    const { prs, github } = await setUp();

    const pr = await prs.open(aRequest());

    expect(pr).toEqual({ number: 1, url: `${github.url}/html/acme/web/pull/1` });
    const post = github.calls.find((c) => c.method === 'POST');
    expect(post?.path).toBe('/repos/acme/web/pulls');
    expect(post?.body).toMatchObject({ head: 'patchbay/ENG-1-fix-login', base: 'trunk', draft: true });
    expect(post?.headers.authorization).toBe(`token ${TOKEN}`);
    expect(post?.headers['user-agent']).toMatch(/^patchbay /);
    expect(github.pulls[0]?.draft).toBe(true);
  });

  it('opens a normal PR when the repository cannot have drafts', async () => {
    const { prs, github, lines } = await setUp({ repos: [{ name: 'acme/web', draftsUnsupported: true }] });

    const pr = await prs.open(aRequest());

    expect(pr.number).toBe(1);
    const posts = github.calls.filter((c) => c.method === 'POST');
    expect(posts.map((c) => (c.body as { draft: boolean }).draft)).toEqual([true, false]);
    expect(github.pulls).toHaveLength(1);
    expect(github.pulls[0]?.draft).toBe(false);
    expect(lines.some((l) => l.includes('draft pull requests unsupported'))).toBe(true);
  });

  it('publishes twice on one branch: one PR, the second call updates it', async () => {
    const { prs, github } = await setUp();

    const first = await prs.publish(aRequest());
    const second = await prs.publish(
      aRequest({ title: 'Fix login, take 2', body: `Second run.\n\n${MARKER}` }),
    );

    expect(first).toMatchObject({ number: 1, created: true });
    expect(second).toEqual({ number: 1, url: first.url, created: false });
    expect(github.pulls).toHaveLength(1);
    expect(github.pulls[0]).toMatchObject({ title: 'Fix login, take 2', body: `Second run.\n\n${MARKER}` });
    expect(github.calls.filter((c) => c.method === 'PATCH').map((c) => c.path)).toEqual([
      '/repos/acme/web/pulls/1',
    ]);
  });

  it('opens one PR when two publishes on one branch race', async () => {
    const { prs, github } = await setUp();

    const results = await Promise.all([prs.publish(aRequest()), prs.publish(aRequest({ title: 'Other' }))]);

    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect(results.map((r) => r.number)).toEqual([1, 1]);
    expect(github.pulls).toHaveLength(1);
  });

  it('leaves an open PR without the marker alone when publishing', async () => {
    const { prs, github } = await setUp();
    await prs.open(aRequest({ body: 'Written by a person.', draft: false }));

    const result = await prs.publish(aRequest());

    expect(result).toMatchObject({ number: 1, created: false });
    expect(github.pulls[0]?.body).toBe('Written by a person.');
    expect(github.calls.some((c) => c.method === 'PATCH')).toBe(false);
  });

  it('finds the open PR by head branch only', async () => {
    const { prs, github } = await setUp();
    await prs.open(aRequest({ branch: 'patchbay/a', body: 'A' }));
    await prs.open(aRequest({ branch: 'patchbay/b', body: 'B' }));

    const b = await prs.findOpen('acme/web', 'patchbay/b');
    const none = await prs.findOpen('acme/web', 'patchbay/c');

    expect(b).toEqual({
      number: 2,
      url: `${github.url}/html/acme/web/pull/2`,
      body: 'B',
      author: 'patchbay[bot]',
      draft: true,
    });
    expect(none).toBeNull();
    const list = github.calls.filter((c) => c.method === 'GET' && c.path === '/repos/acme/web/pulls');
    expect(list.map((c) => [c.query.get('head'), c.query.get('state')])).toEqual([
      ['acme:patchbay/b', 'open'],
      ['acme:patchbay/c', 'open'],
    ]);
  });

  it('does not find a closed PR', async () => {
    const { prs, octokit } = await setUp();
    const pr = await prs.open(aRequest());
    await octokit.rest.pulls.update({ owner: 'acme', repo: 'web', pull_number: pr.number, state: 'closed' });

    const found = await prs.findOpen('acme/web', 'patchbay/ENG-1-fix-login');

    expect(found).toBeNull();
  });

  it('updates the title alone and comments on the PR', async () => {
    const { prs, github } = await setUp();
    const pr = await prs.open(aRequest());

    const updated = await prs.update('acme/web', pr.number, { title: 'Renamed' });
    await prs.comment('acme/web', pr.number, 'Done: see the new commit.');

    expect(updated).toEqual(pr);
    expect(github.pulls[0]).toMatchObject({ title: 'Renamed', body: aRequest().body });
    expect(github.comments).toMatchObject([
      { repo: 'acme/web', issueNumber: 1, body: 'Done: see the new commit.' },
    ]);
  });

  it('fails a comment on a missing PR as a permanent github_error', async () => {
    const { prs } = await setUp();

    const err = await rejection(prs.comment('acme/web', 99, 'hello'));

    expect(err).toMatchObject({ code: 'github_error', permanent: true });
  });
});

describe('reading from GitHub', () => {
  const BRANCH = 'patchbay/ENG-1-fix-login';

  it('works under a GitHub Enterprise style /api/v3 base URL', async () => {
    const { prs, github } = await setUp({ prefix: '/api/v3' });
    await prs.open(aRequest());

    const found = await prs.findOpen('acme/web', BRANCH);

    expect(github.url).toMatch(/\/api\/v3$/);
    expect(found?.number).toBe(1);
  });

  it('fails permanently on a bad token, with a hint about the token', async () => {
    const { prs, github } = await setUp({ token: 'ghs_wrong' });

    const err = await rejection(prs.findOpen('acme/web', BRANCH));

    expect(err).toMatchObject({ code: 'github_error', permanent: true });
    expect(err.hint).toMatch(/token/i);
    expect(github.calls).toHaveLength(1);
  });

  it('fails permanently, without retrying, on a 403 for missing access', async () => {
    const { prs, github } = await setUp();
    github.failNext('GET /repos/:owner/:repo/pulls', 403, 1, {
      message: 'Resource not accessible by integration',
      headers: {},
    });

    const err = await rejection(prs.findOpen('acme/web', BRANCH));

    expect(err).toMatchObject({ code: 'github_error', permanent: true });
    expect(err.hint).toMatch(/access/);
    expect(github.calls).toHaveLength(1);
  });
});

describe('retries and rate limits', () => {
  it('retries a 500 and succeeds', async () => {
    const { prs, github } = await setUp();
    github.failNext('GET /repos/acme/web/pulls', 500);

    const found = await prs.findOpen('acme/web', 'patchbay/x');

    expect(found).toBeNull();
    expect(github.calls.map((c) => c.path)).toEqual(['/repos/acme/web/pulls', '/repos/acme/web/pulls']);
  });

  it('gives up on a lasting 5xx with a transient github_error', async () => {
    const { prs, github } = await setUp({ retries: 1 });
    github.failNext('GET /repos/:owner/:repo/pulls', 502, 5);

    const err = await rejection(prs.findOpen('acme/web', 'patchbay/x'));

    expect(err).toMatchObject({ code: 'github_error', permanent: false });
    expect(github.calls).toHaveLength(2);
  });

  it('waits out a 429 with Retry-After and retries', async () => {
    const { prs, github } = await setUp();
    github.failNext('POST /repos/:owner/:repo/pulls', 429, 1, {
      message: 'You have exceeded a secondary rate limit.',
      headers: { 'retry-after': '1' },
    });
    const started = Date.now();

    const pr = await prs.open(aRequest());

    expect(pr.number).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(github.calls.filter((c) => c.method === 'POST')).toHaveLength(2);
  });

  it('waits out a 403 secondary rate limit and retries', async () => {
    const { prs, github } = await setUp();
    github.failNext('GET /repos/:owner/:repo/pulls', 403);
    const started = Date.now();

    const found = await prs.findOpen('acme/web', 'patchbay/x');

    expect(found).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(github.calls).toHaveLength(2);
  });

  it('waits for x-ratelimit-reset on an exhausted primary limit', async () => {
    const { prs, github, lines } = await setUp();
    const reset = String(Math.floor(Date.now() / 1000));
    github.failNext('GET /repos/:owner/:repo/pulls', 403, 1, {
      message: 'API rate limit exceeded for installation ID 1.',
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
    });

    const found = await prs.findOpen('acme/web', 'patchbay/x');

    expect(found).toBeNull();
    expect(github.calls).toHaveLength(2);
    expect(lines.some((l) => l.includes('"limit":"primary"'))).toBe(true);
  });

  it('gives up on a lasting rate limit with a transient github_error', async () => {
    const { prs, github } = await setUp();
    github.failNext('GET /repos/:owner/:repo/pulls', 429, 10);

    const err = await rejection(prs.findOpen('acme/web', 'patchbay/x'));

    expect(err).toMatchObject({ code: 'github_error', permanent: false });
    expect(github.calls).toHaveLength(3);
  });
});

describe('logging', () => {
  it('never writes the token into a log line', async () => {
    const { prs, github, lines } = await setUp();
    github.failNext('GET /repos/:owner/:repo/pulls', 500);
    github.failNext('POST /repos/:owner/:repo/pulls', 429);

    await prs.findOpen('acme/web', 'patchbay/x');
    await rejection(prs.comment('acme/web', 99, 'hello'));
    await prs.publish(aRequest());

    expect(lines.length).toBeGreaterThan(5);
    expect(github.calls.every((c) => c.headers.authorization === `token ${TOKEN}`)).toBe(true);
    expect(lines.filter((l) => l.includes(TOKEN) || l.includes(TOKEN.slice(4)))).toEqual([]);
  });
});

describe('marker', () => {
  it('round-trips through a PR body on the stand-in', async () => {
    const { prs } = await setUp();
    await prs.open(aRequest());

    const found = await prs.findOpen('acme/web', 'patchbay/ENG-1-fix-login');

    expect(parsePullRequestMarker(found?.body ?? '')).toEqual({
      taskId: 'task-1',
      conversation: 'api:conv-1',
    });
  });
});
