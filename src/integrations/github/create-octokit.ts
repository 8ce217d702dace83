import { retry } from '@octokit/plugin-retry';
import { Octokit } from '@octokit/rest';
import type { Logger } from '../../lib/logger.js';
import { type PaceSlot, pacedFetch, waitOutRateLimits } from './github-pacing.js';

const PatchbayOctokit = Octokit.plugin(retry);

/**
 * The REST client every GitHub operation takes: Octokit with the retry plugin, Patchbay's rate-limit
 * hook and its write pace.
 */
export type GitHubClient = InstanceType<typeof PatchbayOctokit>;

/**
 * One client for every repository (a personal token), or the client for a repository (a GitHub App,
 * whose installation differs from one repository to the next).
 */
export type GitHubClients = GitHubClient | ((repo: string) => Promise<GitHubClient>);

/** The client for `repo` out of either kind of `GitHubClients`. */
export function clientFor(clients: GitHubClients, repo: string): Promise<GitHubClient> {
  return typeof clients === 'function' ? clients(repo) : Promise.resolve(clients);
}

/**
 * An Octokit auth strategy (`createAppAuth`, or one of ours) with its options. `secrets` lists the
 * credentials it currently holds, so that they can be scrubbed from Octokit's log messages.
 */
export interface GitHubAuthStrategy {
  // Octokit calls it with its own options merged in; its parameter type is Octokit's `any`.
  strategy: (options: never) => unknown;
  options: Record<string, unknown>;
  secrets: () => string[];
}

/** A hung connection must not hold a worker; the retry plugin retries the timeout like a 5xx. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Builds the REST client: `baseUrl` is `GITHUB_API_URL` (GitHub Enterprise's `/api/v3` too), 5xx and
 * network failures are retried with backoff, primary (`x-ratelimit-reset`) and secondary
 * (`Retry-After`) rate limits are waited out a few times before giving up, and content-creating
 * writes wait for `pace` (shared by every process through Redis, per installation or token).
 * Octokit's own log lines go through pino with fixed messages; the token never reaches a log line.
 * Authentication is a fixed token, or an auth strategy (a GitHub App: `create-github-app-auth.ts`).
 */
export function createOctokit(
  opts: ({ token: string } | { authStrategy: GitHubAuthStrategy }) & {
    baseUrl: string;
    log: Logger;
    retries?: number;
    pace?: PaceSlot;
  },
): GitHubClient {
  const log = opts.log.child({ component: 'github' });
  const auth =
    'token' in opts
      ? { auth: opts.token, secrets: () => [opts.token] }
      : {
          authStrategy: opts.authStrategy.strategy,
          auth: opts.authStrategy.options,
          secrets: opts.authStrategy.secrets,
        };
  const { secrets, ...authOptions } = auth;
  const octokit = new PatchbayOctokit({
    ...authOptions,
    baseUrl: opts.baseUrl.replace(/\/+$/, ''),
    userAgent: 'patchbay',
    log: toOctokitLog(log, secrets),
    request: { fetch: pacedFetch(fetchWithTimeout, opts.pace, log) },
    retry: {
      retries: opts.retries ?? 3,
      // 403 and 429 are left to the rate-limit hook, which honours Retry-After; the retry plugin's
      // own backoff would ignore it and double the attempts.
      doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
    },
  });
  octokit.hook.wrap('request', waitOutRateLimits(log, opts.pace));
  return octokit;
}

/**
 * Octokit logs `debug('request', options)` with the request headers, the token among them, so every
 * argument but the message is dropped, and the message itself is scrubbed of the tokens for good measure.
 */
function toOctokitLog(log: Logger, secrets: () => string[]) {
  const scrub = (message: unknown) => {
    let text = String(message);
    for (const secret of secrets()) if (secret) text = text.split(secret).join('[redacted]');
    return text;
  };
  return {
    debug: () => {},
    info: (message: string) => log.debug({ detail: scrub(message) }, 'github request'),
    warn: (message: string) => log.warn({ detail: scrub(message) }, 'github client warning'),
    error: (message: string) => log.debug({ detail: scrub(message) }, 'github request failed'),
  };
}

const fetchWithTimeout: typeof fetch = (input, init) => {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  return fetch(input, { ...init, signal });
};
