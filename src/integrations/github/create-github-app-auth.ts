import { createAppAuth } from '@octokit/auth-app';
import { z } from 'zod';
import { PatchbayError } from '../../domain/errors.js';
import type { WritePace } from '../../domain/write-pace.js';
import type { Logger } from '../../lib/logger.js';
import { memoizeAsyncByKey } from '../../lib/memoize-async.js';
import { createBotLogin, lookUpAppLogin } from './bot-login.js';
import { createOctokit, type GitHubClient } from './create-octokit.js';
import { splitRepo, statusOf, toGitHubError } from './github-error.js';
import { installationTokenAuth } from './installation-token-auth.js';
import { readAppPrivateKey } from './read-app-private-key.js';

/** An installation token is replaced this long before GitHub's `expires_at` (tokens live one hour). */
export const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;

const Installation = z.object({ id: z.number().int().positive() });
const InstallationToken = z.object({
  token: z.string().min(1),
  expiresAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected a timestamp'),
  /** What the installation granted the App (`checks: read`, …), as the token answer lists it. */
  permissions: z.record(z.string(), z.string()).optional(),
});

interface CachedToken {
  token: string;
  expiresAtMs: number;
  permissions?: Record<string, string>;
}

/** GitHub App authentication: one installation per repository, its token cached and refreshed. */
export interface GitHubAppAuth {
  /** A REST client authenticated as the installation that covers `repo`; one client per installation. */
  clientFor(repo: string): Promise<GitHubClient>;
  /** A current installation token for `repo`, for git over HTTPS (`x-access-token:<token>`). */
  tokenFor(repo: string): Promise<string>;
  /** The App's bot account, `<slug>[bot]` (`GET /app`), looked up once. */
  botLogin(): Promise<string>;
  /** What the installation that covers `repo` granted the App, from its token's answer. */
  permissionsFor(repo: string): Promise<Record<string, string> | undefined>;
}

/**
 * GitHub App auth on top of `@octokit/auth-app`. The library signs the App's JWT (RS256, fresh for each
 * App request) and requests installation tokens; the cache is ours because the library's is an LRU
 * with a fixed 59-minute lifetime counted from when a token was stored, blind to the token's own
 * `expires_at` (dist-src/cache.js in @octokit/auth-app 8). Ours refreshes `refreshMarginMs` before
 * `expires_at`, so a clone or push that starts on a token never runs into its expiry, and a
 * shorter-lived token (GitHub Enterprise, tests) is refreshed in time too.
 *
 * The installation is looked up per repository (`GET /repos/{owner}/{repo}/installation`) and
 * remembered; a repository the App is not installed on is a permanent `repo_not_found`.
 */
export function createGitHubAppAuth(opts: {
  appId: string;
  /** PEM text, real line breaks or `\n` escapes; checked here, so a bad key fails at start-up. */
  privateKey: string;
  baseUrl: string;
  log: Logger;
  refreshMarginMs?: number;
  /** The clock for refresh decisions (tests move it forward); the JWT is always signed on real time. */
  now?: () => number;
  /** The write pace each installation's client waits for (key `installation:<id>`). */
  pace?: WritePace;
}): GitHubAppAuth {
  const appId = opts.appId.trim();
  if (!/^\d+$/.test(appId)) {
    throw new PatchbayError('invalid_config', 'GITHUB_APP_ID must be the numeric App ID', {
      hint: "The App ID is shown at the top of the App's settings page (General → About).",
    });
  }
  const privateKey = readAppPrivateKey(opts.privateKey);
  const log = opts.log.child({ component: 'github-app' });
  const margin = opts.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
  const now = opts.now ?? Date.now;
  const tokens = new Map<number, CachedToken>();
  const pending = new Map<number, Promise<string>>();
  const installations = memoizeAsyncByKey(lookUpInstallation);
  const clients = new Map<number, GitHubClient>();
  const secrets = () => [privateKey, ...[...tokens.values()].map((t) => t.token)];

  // The library is handed a cache that never answers, so every token request reaches GitHub and
  // the library keeps no copy of the token: `installationToken` below decides when to ask.
  const noCache = { get: async () => '', set: async () => undefined };
  const app = createOctokit({
    authStrategy: { strategy: createAppAuth, options: { appId, privateKey, cache: noCache }, secrets },
    baseUrl: opts.baseUrl,
    log: opts.log,
  });

  /** The installation id for `repo`; concurrent callers share one look-up, a failed one is not kept. */
  const installationFor = (repo: string) => installations.get(repo.toLowerCase());

  async function lookUpInstallation(repo: string): Promise<number> {
    const target = splitRepo(repo);
    try {
      const { data } = await app.rest.apps.getRepoInstallation(target);
      const { id } = Installation.parse(data);
      log.info({ repo, installationId: id }, 'github app installation found');
      return id;
    } catch (err) {
      throw toAppError(err, repo, `look up the GitHub App installation of ${repo}`);
    }
  }

  function installationToken(installationId: number): Promise<string> {
    const cached = tokens.get(installationId);
    if (cached && now() < cached.expiresAtMs - margin) return Promise.resolve(cached.token);
    // Concurrent callers share one request: several git commands and API calls start together.
    const inFlight = pending.get(installationId);
    if (inFlight) return inFlight;
    const request = requestToken(installationId).finally(() => pending.delete(installationId));
    pending.set(installationId, request);
    return request;
  }

  async function requestToken(installationId: number): Promise<string> {
    try {
      const answer = await app.auth({ type: 'installation', installationId, refresh: true });
      const { token, expiresAt, permissions } = InstallationToken.parse(answer);
      const expiresAtMs = Date.parse(expiresAt);
      tokens.set(installationId, { token, expiresAtMs, permissions });
      log.info({ installationId, expiresAt }, 'github app installation token issued');
      return token;
    } catch (err) {
      // An installation removed since it was looked up: forget it, the next task looks again.
      if (statusOf(err) === 404) forgetInstallation(installationId);
      tokens.delete(installationId);
      throw toAppError(err, undefined, `get a token for GitHub App installation ${installationId}`);
    }
  }

  function forgetInstallation(installationId: number): void {
    void installations.forgetWhere((id) => id === installationId);
    clients.delete(installationId);
  }

  async function clientFor(repo: string): Promise<GitHubClient> {
    const installationId = await installationFor(repo);
    const existing = clients.get(installationId);
    if (existing) return existing;
    const client = createOctokit({
      authStrategy: {
        strategy: installationTokenAuth,
        options: { token: () => installationToken(installationId) },
        secrets,
      },
      baseUrl: opts.baseUrl,
      log: opts.log,
      ...(opts.pace ? { pace: { pace: opts.pace, key: `installation:${installationId}` } } : {}),
    });
    clients.set(installationId, client);
    return client;
  }

  async function tokenFor(repo: string): Promise<string> {
    return installationToken(await installationFor(repo));
  }

  async function permissionsFor(repo: string): Promise<Record<string, string> | undefined> {
    const installationId = await installationFor(repo);
    await installationToken(installationId);
    return tokens.get(installationId)?.permissions;
  }

  return { clientFor, tokenFor, botLogin: createBotLogin(() => lookUpAppLogin(app)), permissionsFor };
}

/** GitHub's answers to App requests as coded errors: a missing installation, a rejected JWT, the rest. */
function toAppError(err: unknown, repo: string | undefined, action: string): PatchbayError {
  if (err instanceof PatchbayError) return err;
  if (err instanceof z.ZodError) {
    return new PatchbayError(
      'github_error',
      `GitHub answered an unexpected shape while trying to ${action}`,
      {
        cause: err,
      },
    );
  }
  const status = statusOf(err);
  if (status === 404) {
    const where = repo ?? 'the repository';
    return new PatchbayError('repo_not_found', `the GitHub App is not installed on ${where}`, {
      cause: err,
      permanent: true,
      hint: `Install the GitHub App on ${where} (the App's settings → Install App), or check the spelling.`,
    });
  }
  if (status === 401) {
    return new PatchbayError(
      'github_error',
      `GitHub rejected the App's credentials while trying to ${action}`,
      {
        cause: err,
        permanent: true,
        hint: 'Check that GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY belong to the same App and that the key was not revoked.',
      },
    );
  }
  return toGitHubError(err, action);
}
