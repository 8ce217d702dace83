import { PatchbayError } from '../../domain/errors.js';

/** The parts of Octokit's RequestError we read; duck-typed so that no transitive package is imported. */
interface HttpFailure {
  status: number;
  response?: { data?: unknown; headers?: Record<string, string | number | undefined> };
}

function isHttpFailure(err: unknown): err is HttpFailure {
  return typeof err === 'object' && err !== null && typeof (err as { status?: unknown }).status === 'number';
}

/** The HTTP status of a failed Octokit call, or undefined when no answer came back as one. */
export function statusOf(err: unknown): number | undefined {
  return isHttpFailure(err) ? err.status : undefined;
}

/**
 * GitHub's own words from an error answer: the top-level `message` plus each `errors[].message`, joined.
 * 422s carry the useful part in `errors` ("A pull request already exists for acme:branch.").
 */
export function messageOf(err: unknown): string {
  if (!isHttpFailure(err)) return err instanceof Error ? err.message : String(err);
  const data = err.response?.data as { message?: unknown; errors?: unknown } | undefined;
  const parts: string[] = [];
  if (typeof data?.message === 'string') parts.push(data.message);
  if (Array.isArray(data?.errors)) {
    for (const e of data.errors) {
      const message = (e as { message?: unknown } | null)?.message;
      if (typeof message === 'string') parts.push(message);
    }
  }
  return parts.length > 0 ? parts.join(': ') : err instanceof Error ? err.message : `HTTP ${err.status}`;
}

/**
 * GitHub answers an exhausted primary limit with 403/429 and `x-ratelimit-remaining: 0`, and a
 * secondary limit with 403/429 and a message about it; both are worth retrying later, unlike a 403 for
 * missing access. https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
 */
export function isRateLimited(err: unknown): boolean {
  if (!isHttpFailure(err)) return false;
  if (err.status === 429) return true;
  if (err.status !== 403) return false;
  const remaining = err.response?.headers?.['x-ratelimit-remaining'];
  return String(remaining) === '0' || /rate limit/i.test(messageOf(err));
}

/**
 * Turns a failed Octokit call into a coded error. Only answers that will not change on a retry are
 * permanent (bad token, no access, validation); 5xx, network trouble and rate limits are transient.
 */
export function toGitHubError(err: unknown, action: string): PatchbayError {
  if (err instanceof PatchbayError) return err;
  const status = statusOf(err);
  const detail = messageOf(err);
  const opts = { cause: err };
  if (isRateLimited(err)) {
    return new PatchbayError('github_error', `GitHub rate limit while trying to ${action}`, {
      ...opts,
      permanent: false,
      hint: 'GitHub asked Patchbay to slow down; the task will be retried later.',
    });
  }
  if (status === 401) {
    return new PatchbayError('github_error', `GitHub rejected the token while trying to ${action}`, {
      ...opts,
      permanent: true,
      hint: 'The GitHub token is invalid or expired; replace GITHUB_TOKEN or check the GitHub App installation.',
    });
  }
  if (status === 403) {
    return new PatchbayError('github_error', `GitHub refused to ${action}: ${detail}`, {
      ...opts,
      permanent: true,
      hint: 'The GitHub token lacks access to this repository; it needs read and write on contents and pull requests.',
    });
  }
  const permanent = status !== undefined && status >= 400 && status < 500;
  return new PatchbayError('github_error', `GitHub failed to ${action}: ${detail}`, { ...opts, permanent });
}

/** `owner/name` → Octokit's `{ owner, repo }`. */
export function splitRepo(repo: string): { owner: string; repo: string } {
  const [owner, name, ...rest] = repo.split('/');
  if (!owner || !name || rest.length > 0) {
    throw new PatchbayError('invalid_request', `expected a repository as "owner/name", got "${repo}"`);
  }
  return { owner, repo: name };
}
