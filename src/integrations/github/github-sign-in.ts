import { z } from 'zod';
import { PatchbayError } from '../../domain/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { GitHubSignIn } from '../../server/login-routes.js';
import { createOctokit } from './create-octokit.js';
import { toGitHubError } from './github-error.js';

/**
 * GitHub's token endpoint answers 200 both ways: a token, or an `error` such as
 * `bad_verification_code` (https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors).
 */
const TokenAnswer = z.union([
  z.object({ access_token: z.string().min(1) }),
  z.object({ error: z.string().max(100) }),
]);

const AuthenticatedUser = z.object({ login: z.string().min(1).max(100), id: z.number().int() });

/**
 * Sign-in with GitHub through the GitHub App's own user authorization or an OAuth app (the same web
 * flow: https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app).
 * No scope is asked for: Patchbay only reads who the person is, then drops their token. What they
 * may see is looked up with Patchbay's own credentials.
 */
export function createGitHubSignIn(deps: {
  clientId: string;
  clientSecret: string;
  /** `GITHUB_SERVER_URL`: the consent page and the token endpoint live there. */
  serverUrl: string;
  /** `GITHUB_API_URL`: `GET /user`. */
  apiUrl: string;
  log: Logger;
}): GitHubSignIn {
  const server = deps.serverUrl.replace(/\/+$/, '');

  async function exchange(code: string, redirectUri: string): Promise<string> {
    let answer: unknown;
    try {
      const res = await fetch(`${server}/login/oauth/access_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          client_id: deps.clientId,
          client_secret: deps.clientSecret,
          code,
          redirect_uri: redirectUri,
        }),
        signal: AbortSignal.timeout(15_000),
      });
      if (!res.ok) throw new Error(`GitHub's token endpoint answered ${res.status}`);
      answer = await res.json();
    } catch (err) {
      throw new PatchbayError('github_error', `could not swap the sign-in code: ${(err as Error).message}`);
    }
    const parsed = TokenAnswer.safeParse(answer);
    if (!parsed.success)
      throw new PatchbayError('github_error', 'GitHub answered the code swap in an unknown shape');
    if ('error' in parsed.data)
      throw new PatchbayError('github_error', `GitHub refused the sign-in code: ${parsed.data.error}`);
    return parsed.data.access_token;
  }

  return {
    authorizeUrl({ state, redirectUri }) {
      const url = new URL(`${server}/login/oauth/authorize`);
      url.search = new URLSearchParams({
        client_id: deps.clientId,
        redirect_uri: redirectUri,
        state,
      }).toString();
      return url.toString();
    },
    async userFor({ code, redirectUri }) {
      const token = await exchange(code, redirectUri);
      const octokit = createOctokit({ token, baseUrl: deps.apiUrl, log: deps.log, retries: 1 });
      try {
        const { data } = await octokit.rest.users.getAuthenticated();
        return AuthenticatedUser.parse(data);
      } catch (err) {
        throw toGitHubError(err, 'read who signed in');
      }
    },
  };
}
