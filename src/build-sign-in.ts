import { randomBytes } from 'node:crypto';
import type { GitHubAccess } from './build-github-access.js';
import type { Config } from './config/load-config.js';
import { toRepositoryRules } from './config/repository-rules.js';
import { PatchbayError } from './domain/errors.js';
import type { KeyValueStore } from './domain/ports.js';
import { createGitHubSignIn } from './integrations/github/github-sign-in.js';
import { createReviewApi } from './integrations/github/review-api.js';
import { createWriteAccess } from './integrations/github/write-access.js';
import { type Clock, systemClock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';
import type { HttpServer } from './server/http-server.js';
import { registerLoginRoutes } from './server/login-routes.js';
import { firstViewer, sessionViewer } from './server/session-viewer.js';
import { createSessions } from './server/sessions.js';
import { bearerViewer, type ViewerOf } from './server/viewer.js';

/** How long a person's access to a repository is remembered before GitHub is asked again. */
export const ACCESS_TTL_MS = 5 * 60_000;

export interface SignIn {
  /** Who a request is: the bearer operator, or the session cookie's operator or GitHub user. */
  viewerOf: ViewerOf;
  /** `PATCHBAY_PUBLIC_URL`, for the cross-site checks (server/cross-site.ts). */
  publicUrl: string | undefined;
  /** `GET /login`, `POST /login`, `GET /login/github`, `GET /login/github/callback`, `POST /logout`. */
  registerRoutes(http: HttpServer): void;
}

/**
 * Sign-in and who sees what: sessions in Redis (`kv`) signed with `sessionKey` (main.ts derives it
 * and gives it to the redactor), GitHub's web flow when `GITHUB_CLIENT_ID` and
 * `GITHUB_CLIENT_SECRET` are set, the operator's `PATCHBAY_API_TOKEN`, and repository access looked
 * up with Patchbay's own GitHub credentials. Says in one line at start-up who can sign in.
 */
export function buildSignIn(deps: {
  config: Config;
  kv: KeyValueStore;
  sessionKey: string | undefined;
  githubAccess: () => GitHubAccess;
  log: Logger;
  clock?: Clock;
}): SignIn {
  const { config, log } = deps;
  const env = config.env;
  const clock = deps.clock ?? systemClock;
  const github = readGitHubSignIn(env, log);
  // Without a key nobody can sign in; a random one keeps the routes working and refuses every cookie.
  const sessions = createSessions({
    kv: deps.kv,
    key: deps.sessionKey ?? randomBytes(32).toString('hex'),
    clock,
  });
  const rules = toRepositoryRules(config);
  const mayWrite = github ? buildMayWrite(deps, clock) : undefined;
  const viewerOf = firstViewer(
    bearerViewer(env.PATCHBAY_API_TOKEN),
    sessionViewer({ sessions, allowlisted: (repo) => rules.find(repo) !== undefined, mayWrite, log }),
  );
  return {
    viewerOf,
    publicUrl: env.PATCHBAY_PUBLIC_URL,
    registerRoutes(http) {
      registerLoginRoutes(http, {
        sessions,
        kv: deps.kv,
        github,
        operatorToken: env.PATCHBAY_API_TOKEN,
        publicUrl: env.PATCHBAY_PUBLIC_URL,
        log,
      });
    },
  };
}

function readGitHubSignIn(env: Config['env'], log: Logger) {
  const { GITHUB_CLIENT_ID: clientId, GITHUB_CLIENT_SECRET: clientSecret } = env;
  if (clientId && clientSecret) {
    log.info('GitHub sign-in on');
    return createGitHubSignIn({
      clientId,
      clientSecret,
      serverUrl: env.GITHUB_SERVER_URL,
      apiUrl: env.GITHUB_API_URL,
      log,
    });
  }
  if (clientId || clientSecret) {
    const missing = clientId ? 'GITHUB_CLIENT_SECRET' : 'GITHUB_CLIENT_ID';
    throw new PatchbayError('invalid_config', `sign-in with GitHub needs ${missing} too`, {
      hint: 'set both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (README, "Signing in"), or neither',
    });
  }
  log.info(
    env.PATCHBAY_API_TOKEN
      ? 'GitHub sign-in off: GITHUB_CLIENT_ID is not set, so only the operator can sign in'
      : 'Sign-in off: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, or PATCHBAY_API_TOKEN for the operator',
  );
  return undefined;
}

/**
 * The review loop's rule (write, maintain or admin), asked with Patchbay's own GitHub clients and
 * remembered for ACCESS_TTL_MS; undefined without GitHub credentials (then people see nothing).
 */
function buildMayWrite(
  deps: { config: Config; githubAccess: () => GitHubAccess; log: Logger },
  clock: Clock,
) {
  const env = deps.config.env;
  if (!env.GITHUB_TOKEN && !env.GITHUB_APP_ID) {
    deps.log.warn(
      'GitHub sign-in cannot look up access without GITHUB_APP_ID or GITHUB_TOKEN: people who sign in see no tasks',
    );
    return undefined;
  }
  let api: ReturnType<typeof createReviewApi> | undefined;
  return createWriteAccess({
    permission: (repo, login) => {
      api ??= createReviewApi({ clients: deps.githubAccess().clients, log: deps.log });
      return api.permission(repo, login);
    },
    log: deps.log,
    ttlMs: ACCESS_TTL_MS,
    clock,
  });
}
