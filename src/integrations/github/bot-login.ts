import { z } from 'zod';
import { memoizeAsync } from '../../lib/memoize-async.js';
import type { GitHubClient } from './create-octokit.js';
import { toGitHubError } from './github-error.js';

const User = z.object({ login: z.string().min(1) });
const App = z.object({ slug: z.string().min(1) });

/**
 * The login Patchbay's pull requests and comments are authored by, looked up once and kept: for a
 * personal token `GET /user` → `login`; for a GitHub App `GET /app` (App JWT) → `<slug>[bot]`. A
 * failed look-up is not kept, so the next delivery asks again.
 */
export function createBotLogin(lookup: () => Promise<string>): () => Promise<string> {
  return memoizeAsync(lookup);
}

/** `GET /user` with a personal token. */
export async function lookUpTokenLogin(octokit: GitHubClient): Promise<string> {
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    return User.parse(data).login;
  } catch (err) {
    throw toGitHubError(err, 'read the login of GITHUB_TOKEN');
  }
}

/** `GET /app` with the App's JWT: the App's bot account is `<slug>[bot]`. */
export async function lookUpAppLogin(app: GitHubClient): Promise<string> {
  try {
    const { data } = await app.rest.apps.getAuthenticated();
    return `${App.parse(data).slug}[bot]`;
  } catch (err) {
    throw toGitHubError(err, 'read the GitHub App');
  }
}
