import { createAppState, type StandInApp, type StandInInstallationToken } from './github-app-stand-in.js';
import {
  type ChecksState,
  createChecksState,
  type StandInCheckRun,
  type StandInStatus,
} from './github-checks-stand-in.js';
import { createOAuthState, type StandInOAuthApp, type StandInUserToken } from './github-oauth-stand-in.js';
import {
  createPullState,
  type StandInComment,
  type StandInPull,
  type StandInRepo,
} from './github-pull-stand-in.js';
import {
  createReviewState,
  type StandInReaction,
  type StandInReviewComment,
} from './github-review-stand-in.js';
import { DOCS } from './github-stand-in-replies.js';
import { createWritePaceEnforcer, type StandInWrite } from './github-write-pace-stand-in.js';
import type { RecordedCall, StandInHandler, StandInReply } from './http-stand-in.js';
import { startHttpStandIn } from './http-stand-in.js';

export type {
  StandInApp,
  StandInCheckRun,
  StandInComment,
  StandInInstallationToken,
  StandInOAuthApp,
  StandInPull,
  StandInRepo,
  StandInStatus,
  StandInUserToken,
  StandInWrite,
};

export interface GitHubStandIn {
  /** The REST base URL (`GITHUB_API_URL`). */
  url: string;
  /** The web host without the REST prefix (`GITHUB_SERVER_URL` for sign-in): `/login/oauth/*`. */
  serverUrl: string;
  calls: RecordedCall[];
  /** Requests no route matched; a test asserts this stays empty. */
  unmatched: RecordedCall[];
  /** Every PR opened through the stand-in, in order. */
  pulls: StandInPull[];
  /** Check runs, commit statuses and workflow runs per commit (the autofix's inputs). */
  checks: Omit<ChecksState, 'register'>;
  /** Content-creating writes through the API routes, in order, refused ones (`writePaceMs`) too. */
  writes: StandInWrite[];
  /** Reactions added through the API, in order. */
  reactions: StandInReaction[];
  /** Sets a person's role on every repository (`GET …/collaborators/:user/permission`); default `read`. */
  setPermission(login: string, role: string, base?: string): void;
  /** What `GET …/pulls/:n/reviews/:id/comments` answers for a review. */
  setReviewComments(repo: string, reviewId: number, comments: StandInReviewComment[]): void;
  /** A pull request someone else opened (another author, branch or head repository). */
  addPull(
    pull: Omit<StandInPull, 'number' | 'html_url' | 'state'> & { state?: 'open' | 'closed' },
  ): StandInPull;
  comments: StandInComment[];
  /** Installation tokens issued through `POST /app/installations/:id/access_tokens`, in order. */
  installationTokens: StandInInstallationToken[];
  /**
   * Who consents at GitHub's next sign-in page (`GET /login/oauth/authorize`, with `oauth` set); null
   * declines, as a person pressing Cancel does.
   */
  signInAs(login: string | null): void;
  /** User tokens issued at `POST /login/oauth/access_token`, in order. */
  userTokens: StandInUserToken[];
  /** Why App JWTs were refused (bad signature, wrong `iss`, expired…), in order. */
  jwtRejections: string[];
  /** True for an installation token this stand-in issued that has not expired (for the git server). */
  isInstallationToken(token: string): boolean;
  /**
   * The next `times` requests matching `route` ("POST /repos/:owner/:repo/pulls", or a concrete path)
   * fail with `status`. 403/429 look like GitHub's secondary rate limit (`Retry-After: 1`) unless
   * `reply` says otherwise.
   */
  failNext(
    route: string,
    status: number,
    times?: number,
    reply?: { message?: string; headers?: Record<string, string> },
  ): void;
  close(): Promise<void>;
}

interface Failure {
  method: string;
  segments: string[];
  status: number;
  remaining: number;
  reply: { message?: string; headers?: Record<string, string> };
}

/**
 * A loopback stand-in for GitHub's REST API, close enough to GitHub's shapes for the real Octokit:
 * repositories, pull requests (list, get, open, update) and issue comments, with GitHub's 404s and
 * 422s, optional token checking and injected failures for retry tests. Built on the generic stand-in,
 * so unknown routes land in `unmatched`.
 */
export async function startGitHubStandIn(opts: {
  repos: StandInRepo[];
  /** When set, requests must carry `authorization: token <token>` or `Bearer <token>`, else 401. */
  token?: string;
  /** The login PRs and comments are authored by. */
  login?: string;
  /** A path prefix, as GitHub Enterprise's `/api/v3`. */
  prefix?: string;
  /**
   * A GitHub App: answers the installation look-up and token routes (App JWT checked), and the other
   * routes accept its unexpired installation tokens for the repositories of their installation.
   */
  app?: StandInApp;
  /** Sign-in with GitHub: the client id and secret the token endpoint accepts. */
  oauth?: StandInOAuthApp;
  /**
   * The git remote's directory of bare repositories (`<owner>/<name>.git`): commits and pull
   * requests' head commits are answered from it.
   */
  gitRoot?: string;
  /**
   * GitHub's pace for content-creating writes, enforced per installation (or token): a write closer
   * than this to the previous one is refused with a 403 secondary rate limit.
   */
  writePaceMs?: number;
  /**
   * Runs before an accepted content-creating write is answered: a test holds the answer there (as
   * GitHub takes its time to create something) and lets it go when it chooses.
   */
  beforeWriteAnswer?: (call: RecordedCall) => Promise<void> | undefined;
}): Promise<GitHubStandIn> {
  const http = await startHttpStandIn({ prefix: opts.prefix });
  const state = createPullState(http.url, opts.login ?? 'patchbay[bot]', opts.repos);
  const failures: Failure[] = [];
  const apps = createAppState(opts.app);
  const login = opts.login ?? 'patchbay[bot]';
  const review = createReviewState({ login, appSlug: login.replace(/\[bot\]$/, '') });
  const oauth = createOAuthState(opts.oauth);
  const checks = createChecksState(http.url, opts.gitRoot);
  const pace = createWritePaceEnforcer(opts.writePaceMs, (t) => apps.liveToken(t)?.installationId);
  /** A pull request answer with its head commit, as GitHub's has, when the remote is known. */
  const withHeadSha = async (reply: StandInReply): Promise<StandInReply> => {
    const add = async (pull: { head: { ref: string; repo: { full_name: string }; sha?: string } }) => {
      const sha = await checks.headSha(pull.head.repo.full_name, pull.head.ref);
      if (sha) pull.head.sha = sha.trim();
    };
    if (Array.isArray(reply.json)) await Promise.all(reply.json.map(add));
    else if (reply.json && typeof reply.json === 'object' && 'head' in reply.json)
      await add(reply.json as Parameters<typeof add>[0]);
    return reply;
  };

  const answer = (handler: StandInHandler): StandInHandler => {
    const before = opts.beforeWriteAnswer;
    if (!before) return handler;
    return async (call) => {
      if (['POST', 'PATCH', 'PUT', 'DELETE'].includes(call.method)) await before(call);
      return handler(call);
    };
  };
  const guard =
    (handler: StandInHandler): StandInHandler =>
    (call) =>
      injectedFailure(failures, call) ??
      apps.authorize(opts.token, call) ??
      pace.check(call) ??
      answer(handler)(call);
  const appGuard =
    (handler: StandInHandler): StandInHandler =>
    (call) =>
      injectedFailure(failures, call) ?? apps.checkJwt(call) ?? handler(call);

  if (opts.app) {
    http.on(
      'GET /repos/:owner/:repo/installation',
      appGuard((c) => apps.getInstallation(c)),
    );
    http.on(
      'POST /app/installations/:id/access_tokens',
      appGuard((c) => apps.createToken(c)),
    );
  }

  http.on(
    'GET /repos/:owner/:repo',
    guard((c) => state.getRepo(c)),
  );
  http.on(
    'GET /repos/:owner/:repo/pulls',
    guard((c) => withHeadSha(state.listPulls(c))),
  );
  http.on(
    'POST /repos/:owner/:repo/pulls',
    guard((c) => state.createPull(c)),
  );
  http.on(
    'GET /repos/:owner/:repo/pulls/:number',
    guard((c) => withHeadSha(state.getPull(c))),
  );
  http.on(
    'PATCH /repos/:owner/:repo/pulls/:number',
    guard((c) => state.updatePull(c)),
  );
  http.on(
    'POST /repos/:owner/:repo/issues/:number/comments',
    guard((c) => state.createComment(c)),
  );
  review.register(
    http,
    guard,
    opts.app ? appGuard : undefined,
    (c) => state.getPull(c).status === undefined,
    oauth.userOf,
  );
  oauth.register(http, (handler) => (call) => injectedFailure(failures, call) ?? handler(call));
  checks.register(http, guard);

  return {
    url: http.url,
    serverUrl: new URL(http.url).origin,
    calls: http.calls,
    unmatched: http.unmatched,
    pulls: state.pulls,
    checks,
    comments: state.comments,
    reactions: review.reactions,
    writes: pace.writes,
    setPermission: review.setPermission,
    setReviewComments: review.setReviewComments,
    addPull: state.addPull,
    signInAs: oauth.signInAs,
    userTokens: oauth.tokens,
    installationTokens: apps.tokens,
    jwtRejections: apps.jwtRejections,
    isInstallationToken: (token) => apps.liveToken(token) !== undefined,
    failNext(route, status, times = 1, reply = {}) {
      const [method, path] = route.split(' ', 2);
      if (!method || !path) throw new Error(`route must be "METHOD /path": ${route}`);
      failures.push({
        method: method.toUpperCase(),
        segments: path.split('/'),
        status,
        remaining: times,
        reply,
      });
    },
    close: () => http.close(),
  };
}

function injectedFailure(failures: Failure[], call: RecordedCall): StandInReply | undefined {
  const failure = failures.find(
    (f) => f.remaining > 0 && f.method === call.method && matches(f.segments, call.path),
  );
  if (!failure) return undefined;
  failure.remaining -= 1;
  const rateLimited = failure.status === 403 || failure.status === 429;
  const message =
    failure.reply.message ??
    (rateLimited
      ? 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'
      : 'Server Error');
  const headers = {
    ...(rateLimited && !failure.reply.headers ? { 'retry-after': '1' } : {}),
    ...failure.reply.headers,
  };
  return { status: failure.status, headers, json: { message, documentation_url: DOCS } };
}

function matches(pattern: string[], path: string): boolean {
  const segments = path.split('/');
  return (
    segments.length === pattern.length && pattern.every((p, i) => p.startsWith(':') || p === segments[i])
  );
}
