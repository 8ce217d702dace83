import { z } from 'zod';
import { PatchbayError } from '../../domain/errors.js';
import type { PullRequestRef } from '../../domain/task.js';
import type { Logger } from '../../lib/logger.js';
import { clientFor, type GitHubClients } from './create-octokit.js';
import { messageOf, splitRepo, statusOf, toGitHubError } from './github-error.js';
import { parsePullRequestMarker } from './pr-body.js';

/** What the host asks for when it publishes a task's branch. */
export interface OpenPullRequest {
  /** `owner/name` */
  repo: string;
  /** The head branch, in the same repository (`patchbay/ENG-1-fix-login`). */
  branch: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
}

export type OpenPullRequestFound = PullRequestRef & { body: string; author: string; draft: boolean };

/** The fields of a pull request answer Patchbay relies on. */
const PullAnswer = z.object({
  number: z.number().int().positive(),
  html_url: z.string(),
  body: z.string().nullable().optional(),
  draft: z.boolean().optional(),
  user: z.object({ login: z.string() }).nullable().optional(),
});

const PullState = z.object({
  state: z.string(),
  merged: z.boolean().nullable().optional(),
  merged_at: z.string().nullable().optional(),
});

/** GitHub's 422 when a repository's plan has no draft pull requests. */
const DRAFTS_UNSUPPORTED = /draft pull requests are not supported/i;
/** GitHub's 422 when the head branch already has an open pull request (a concurrent publish). */
const ALREADY_EXISTS = /a pull request already exists/i;

/**
 * Pull request operations; the client comes in, nothing is global. `octokit` is one client, or the
 * client for a repository (GitHub App mode: each repository's installation has its own token).
 */
export function createPullRequests({ octokit: clients, log }: { octokit: GitHubClients; log: Logger }) {
  /** The open PR whose head is `owner:branch` in `repo`, if any. */
  async function findOpen(repo: string, branch: string): Promise<OpenPullRequestFound | null> {
    const target = splitRepo(repo);
    const { data } = await call(`list pull requests of ${repo}`, async () =>
      (await clientFor(clients, repo)).rest.pulls.list({
        ...target,
        head: `${target.owner}:${branch}`,
        state: 'open',
        per_page: 10,
      }),
    );
    const first = data[0];
    if (!first) return null;
    const pr = parsePull(first, `list pull requests of ${repo}`);
    return {
      number: pr.number,
      url: pr.html_url,
      body: pr.body ?? '',
      author: pr.user?.login ?? '',
      draft: pr.draft ?? false,
    };
  }

  /**
   * Opens a PR, a draft when asked. When GitHub answers 422 because the repository cannot have drafts
   * (private repositories on some plans), opens a normal one instead.
   */
  async function open(req: OpenPullRequest): Promise<PullRequestRef> {
    try {
      return await openOrThrowRaw(req);
    } catch (err) {
      throw toGitHubError(err, `open a pull request on ${req.repo}`);
    }
  }

  /** `open`, but GitHub's errors come out as they are, so that `publish` can read a 422. */
  async function openOrThrowRaw(req: OpenPullRequest): Promise<PullRequestRef> {
    try {
      return await create(req, req.draft);
    } catch (err) {
      if (!req.draft || statusOf(err) !== 422 || !DRAFTS_UNSUPPORTED.test(messageOf(err))) throw err;
      log.info(
        { repo: req.repo, branch: req.branch },
        'draft pull requests unsupported, opening a normal one',
      );
      return create(req, false);
    }
  }

  async function create(req: OpenPullRequest, draft: boolean): Promise<PullRequestRef> {
    const target = splitRepo(req.repo);
    const octokit = await clientFor(clients, req.repo);
    const { data } = await octokit.rest.pulls.create({
      ...target,
      head: req.branch,
      base: req.base,
      title: req.title,
      body: req.body,
      draft,
    });
    const pr = parsePull(data, `open a pull request on ${req.repo}`);
    log.info({ repo: req.repo, pr: pr.number, draft }, 'opened pull request');
    return { number: pr.number, url: pr.html_url };
  }

  /** PATCHes the title and/or body of a PR. */
  async function update(
    repo: string,
    number: number,
    change: { title?: string; body?: string },
  ): Promise<PullRequestRef> {
    const target = splitRepo(repo);
    const { data } = await call(`update pull request #${number} on ${repo}`, async () =>
      (await clientFor(clients, repo)).rest.pulls.update({ ...target, pull_number: number, ...change }),
    );
    const pr = parsePull(data, `update pull request #${number} on ${repo}`);
    log.info({ repo, pr: pr.number }, 'updated pull request');
    return { number: pr.number, url: pr.html_url };
  }

  /**
   * Idempotent publish: updates the branch's open PR when there is one, else opens one. A rerun after a
   * crash between push and PR finds the PR instead of opening a second, and a concurrent publish that
   * wins the race is found the same way. A PR on the branch without Patchbay's marker was written by a
   * person: its title and body are left alone.
   */
  async function publish(req: OpenPullRequest): Promise<PullRequestRef & { created: boolean }> {
    const existing = await findOpen(req.repo, req.branch);
    if (existing) return { ...(await refresh(req, existing)), created: false };
    try {
      return { ...(await openOrThrowRaw(req)), created: true };
    } catch (err) {
      if (statusOf(err) !== 422 || !ALREADY_EXISTS.test(messageOf(err))) {
        throw toGitHubError(err, `open a pull request on ${req.repo}`);
      }
      const raced = await findOpen(req.repo, req.branch);
      if (!raced) throw toGitHubError(err, `open a pull request on ${req.repo}`);
      return { ...(await refresh(req, raced)), created: false };
    }
  }

  async function refresh(req: OpenPullRequest, existing: OpenPullRequestFound): Promise<PullRequestRef> {
    if (!parsePullRequestMarker(existing.body)) {
      log.warn(
        { repo: req.repo, pr: existing.number },
        'open pull request has no patchbay marker, left as is',
      );
      return { number: existing.number, url: existing.url };
    }
    return update(req.repo, existing.number, { title: req.title, body: req.body });
  }

  /** Whether a pull request is still open, or was merged or closed without a merge. */
  async function state(repo: string, number: number): Promise<'open' | 'closed' | 'merged'> {
    const { data } = await call(`read pull request #${number} of ${repo}`, async () =>
      (await clientFor(clients, repo)).rest.pulls.get({ ...splitRepo(repo), pull_number: number }),
    );
    const pr = PullState.safeParse(data);
    if (!pr.success) {
      throw new PatchbayError(
        'github_error',
        `GitHub answered an unexpected shape for pull request #${number}`,
      );
    }
    if (pr.data.state === 'open') return 'open';
    return pr.data.merged || pr.data.merged_at ? 'merged' : 'closed';
  }

  /** Posts an issue comment on the PR (follow-up replies). */
  async function comment(repo: string, number: number, body: string): Promise<void> {
    const target = splitRepo(repo);
    await call(`comment on pull request #${number} of ${repo}`, async () =>
      (await clientFor(clients, repo)).rest.issues.createComment({ ...target, issue_number: number, body }),
    );
    log.info({ repo, pr: number }, 'commented on pull request');
  }

  return { findOpen, open, update, publish, comment, state };
}

/** What `createPullRequests` returns, for callers that take it as a dependency. */
export type PullRequests = ReturnType<typeof createPullRequests>;

async function call<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toGitHubError(err, action);
  }
}

/** GitHub's answer checked against the fields we use: a stand-in or proxy that drifts fails loudly here. */
function parsePull(data: unknown, action: string): z.infer<typeof PullAnswer> {
  const parsed = PullAnswer.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new PatchbayError('github_error', `GitHub answered an unexpected shape while trying to ${action}`, {
    cause: parsed.error,
  });
}
