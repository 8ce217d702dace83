import type { Redis } from 'ioredis';
import type { Config } from './config/load-config.js';
import { PatchbayError } from './domain/errors.js';
import type { WritePace } from './domain/write-pace.js';
import { createBotLogin, lookUpTokenLogin } from './integrations/github/bot-login.js';
import { createGitHubAppAuth } from './integrations/github/create-github-app-auth.js';
import { createOctokit, type GitHubClients } from './integrations/github/create-octokit.js';
import { tokenPaceKey } from './integrations/github/github-pacing.js';
import { createLocalWritePace, withLocalFallback } from './integrations/github/local-write-pace.js';
import { inArrivalOrder } from './integrations/github/ordered-write-pace.js';
import type { Logger } from './lib/logger.js';
import { createRedisWritePace } from './queue/redis-write-pace.js';
import { type GitCredentials, tokenCredentials } from './workspace/types.js';

/**
 * GitHub credentials for the API and for git: a GitHub App (the App's installation per repository,
 * its tokens refreshed before they expire) or a personal token. Both set → the App wins.
 */
export interface GitHubAccess {
  clients: GitHubClients;
  credentials: GitCredentials;
  botLogin: () => Promise<string>;
  /** With a GitHub App: what its installation on `repo` granted it. Unknown for a personal token. */
  permissionsFor?: (repo: string) => Promise<Record<string, string> | undefined>;
}

/**
 * `pace` is the write pace every process shares through Redis; without it (`patchbay run`) this
 * process keeps the pace on its own.
 */
export function buildGitHubAccess(
  env: Config['env'],
  log: Logger,
  pace: WritePace = inArrivalOrder(
    createLocalWritePace(env.PATCHBAY_GITHUB_WRITE_PACE_MS, env.PATCHBAY_GITHUB_WRITES_PER_HOUR),
  ),
): GitHubAccess {
  const { GITHUB_APP_ID: appId, GITHUB_APP_PRIVATE_KEY: privateKey, GITHUB_TOKEN: token } = env;
  if (appId || privateKey) {
    if (!appId || !privateKey) {
      const missing = appId ? 'GITHUB_APP_PRIVATE_KEY' : 'GITHUB_APP_ID';
      throw new PatchbayError('invalid_config', `GitHub App auth needs ${missing} too`, {
        hint: 'set both GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (see docs/github-app.md), or neither',
      });
    }
    const app = createGitHubAppAuth({ appId, privateKey, baseUrl: env.GITHUB_API_URL, log, pace });
    if (token) log.info('GitHub App auth on: GITHUB_APP_ID is set, so GITHUB_TOKEN is not used');
    else log.info('GitHub App auth on');
    return {
      clients: app.clientFor,
      credentials: tokenCredentials((repo) => app.tokenFor(repo)),
      botLogin: app.botLogin,
      permissionsFor: app.permissionsFor,
    };
  }
  if (!token) {
    throw new PatchbayError('invalid_config', 'the worker needs GitHub credentials', {
      hint: 'set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (a GitHub App, see docs/github-app.md), or GITHUB_TOKEN to a token that may push branches and open pull requests',
    });
  }
  const octokit = createOctokit({
    token,
    baseUrl: env.GITHUB_API_URL,
    log,
    pace: { pace, key: tokenPaceKey(token) },
  });
  return {
    clients: octokit,
    credentials: tokenCredentials(token),
    botLogin: createBotLogin(() => lookUpTokenLogin(octokit)),
  };
}

/**
 * GitHub's write pace shared by every process of the deployment through Redis (one key per
 * installation or token), falling back to this process's own pace while Redis does not answer.
 */
export function buildWritePace(
  config: Config,
  deps: { redis: Redis; prefix: string; log: Logger },
): WritePace {
  const gapMs = config.env.PATCHBAY_GITHUB_WRITE_PACE_MS;
  const perHour = config.env.PATCHBAY_GITHUB_WRITES_PER_HOUR;
  const shared = createRedisWritePace({ redis: deps.redis, prefix: deps.prefix, gapMs, perHour });
  return inArrivalOrder(withLocalFallback(shared, createLocalWritePace(gapMs, perHour), deps.log));
}
