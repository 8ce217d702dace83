import { z } from 'zod';
import { PatchbayError } from '../../domain/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { GitHubClient } from './create-octokit.js';
import { isRateLimited, splitRepo, statusOf, toGitHubError } from './github-error.js';

/** The fields of GET /repos/{owner}/{repo} Patchbay relies on. */
const RepositoryAnswer = z.object({
  default_branch: z.string().min(1),
  private: z.boolean(),
  html_url: z.string(),
});

export interface RepositoryInfo {
  defaultBranch: string;
  private: boolean;
  htmlUrl: string;
}

/** Repository look-ups; the client comes in, nothing is global. */
export function createRepositories({ octokit, log }: { octokit: GitHubClient; log: Logger }) {
  /**
   * GET /repos/{owner}/{repo}. A 404 is `repo_not_found` (permanent): GitHub answers 404, not 403, for
   * a private repository the token cannot see. 401/403 are permanent `github_error`s about the token's
   * access; 5xx, network trouble and rate limits are transient.
   */
  async function get(repo: string): Promise<RepositoryInfo> {
    const target = splitRepo(repo);
    try {
      const { data } = await octokit.rest.repos.get(target);
      const info = RepositoryAnswer.parse(data);
      log.debug({ repo, defaultBranch: info.default_branch }, 'read repository');
      return { defaultBranch: info.default_branch, private: info.private, htmlUrl: info.html_url };
    } catch (err) {
      if (statusOf(err) === 404 && !isRateLimited(err)) {
        throw new PatchbayError(
          'repo_not_found',
          `GitHub has no repository ${repo}, or the token cannot see it`,
          {
            cause: err,
            hint: `Check the spelling of ${repo} and that the GitHub token (or App installation) has access to it.`,
          },
        );
      }
      if (err instanceof z.ZodError) {
        throw new PatchbayError('github_error', `GitHub answered an unexpected shape for ${repo}`, {
          cause: err,
        });
      }
      log.warn({ repo, status: statusOf(err) }, 'reading repository failed');
      throw toGitHubError(err, `read repository ${repo}`);
    }
  }

  return { get };
}

/** What `createRepositories` returns, for callers that take it as a dependency. */
export type Repositories = ReturnType<typeof createRepositories>;
