import { PatchbayError } from '../domain/errors.js';
import { GitError } from './git.js';

/**
 * What git prints when the repository is not there or we may not read it. GitHub answers 404 for a
 * private repository the token cannot see, so "no access" and "no such repository" are one case.
 */
const NOT_FOUND = [
  /repository .* not found/i,
  /returned error: 40[134]/i,
  /authentication failed/i,
  /could not read (username|password)/i,
  /terminal prompts disabled/i,
  /does not appear to be a git repository/i,
  /not a git repository/i,
  /invalid username or password/i,
];

const stderrOf = (err: unknown) => (err instanceof GitError ? `${err.stderr}\n${err.stdout}` : String(err));

/** Turns a failed fetch/clone/ls-remote into repo_not_found (permanent) or a transient network error. */
export function toRemoteError(err: unknown, repo: string): PatchbayError {
  const text = stderrOf(err);
  if (NOT_FOUND.some((re) => re.test(text))) {
    return new PatchbayError('repo_not_found', `repository ${repo} was not found or is not readable`, {
      cause: err,
      hint: 'Check the repository name and that Patchbay has access to it.',
    });
  }
  return new PatchbayError('github_error', `could not reach the git remote of ${repo}`, {
    cause: err,
    permanent: false,
  });
}

/**
 * Classifies a failed push. A client-side rejection (non-fast-forward, "fetch first") means someone
 * pushed to the branch meanwhile: transient, so that a retry clones the new tip and works on top of
 * it. A remote rejection (hook declined, protected branch) will not change on retry: permanent.
 */
export function toPushError(err: unknown, repo: string, branch: string): PatchbayError {
  const text = stderrOf(err);
  if (/\[remote rejected\]|hook declined|protected branch/i.test(text)) {
    return new PatchbayError('push_rejected', `the remote refused the push to ${branch}`, {
      cause: err,
      permanent: true,
      hint: 'The repository does not accept pushes to this branch (a hook or branch protection).',
    });
  }
  if (/\[rejected\]|non-fast-forward|fetch first/i.test(text)) {
    return new PatchbayError('push_rejected', `${branch} moved on the remote while the task ran`, {
      cause: err,
      permanent: false,
    });
  }
  return toRemoteError(err, repo);
}
