import { randomBytes, verify } from 'node:crypto';
import {
  createReviewState,
  type StandInReaction,
  type StandInReviewComment,
} from './github-review-stand-in.js';
import type { RecordedCall, StandInHandler, StandInReply } from './http-stand-in.js';
import { startHttpStandIn } from './http-stand-in.js';

export interface StandInRepo {
  /** `owner/name` */
  name: string;
  defaultBranch?: string;
  private?: boolean;
  /** Answer a draft PR with GitHub's 422, as for private repositories on plans without drafts. */
  draftsUnsupported?: boolean;
}

/** A GitHub App the stand-in knows: App JWTs are checked against its public key. */
export interface StandInApp {
  /** The App ID a JWT's `iss` must carry. */
  id: string;
  /** PEM public key (SPKI) the App's RS256 JWTs must verify against. */
  publicKey: string;
  installations: Array<{ id: number; repos: string[] }>;
  /** How long an installation token lives, in seconds (GitHub: 3600). */
  tokenLifetimeS?: number;
}

export interface StandInInstallationToken {
  token: string;
  installationId: number;
  /** ms since the epoch */
  expiresAt: number;
}

export interface StandInPull {
  repo: string;
  number: number;
  /** `repo` is the head repository's `owner/name` when it differs (a fork). */
  head: { ref: string; label: string; repo?: string };
  base: { ref: string };
  title: string;
  body: string;
  draft: boolean;
  state: 'open' | 'closed';
  html_url: string;
  user: { login: string };
}

export interface StandInComment {
  repo: string;
  issueNumber: number;
  id: number;
  body: string;
  user: { login: string };
  /** ms since the epoch */
  at: number;
}

export interface GitHubStandIn {
  /** The REST base URL (`GITHUB_API_URL`). */
  url: string;
  calls: RecordedCall[];
  /** Requests no route matched; a test asserts this stays empty. */
  unmatched: RecordedCall[];
  /** Every PR opened through the stand-in, in order. */
  pulls: StandInPull[];
  /** Reactions added through the API, in order. */
  reactions: StandInReaction[];
  /** Sets a person's role on every repository (`GET …/collaborators/:user/permission`); default `read`. */
  setPermission(login: string, role: string): void;
  /** What `GET …/pulls/:n/reviews/:id/comments` answers for a review. */
  setReviewComments(repo: string, reviewId: number, comments: StandInReviewComment[]): void;
  /** A pull request someone else opened (another author, branch or head repository). */
  addPull(
    pull: Omit<StandInPull, 'number' | 'html_url' | 'state'> & { state?: 'open' | 'closed' },
  ): StandInPull;
  comments: StandInComment[];
  /** Installation tokens issued through `POST /app/installations/:id/access_tokens`, in order. */
  installationTokens: StandInInstallationToken[];
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

const DOCS = 'https://docs.github.com/rest';

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
}): Promise<GitHubStandIn> {
  const http = await startHttpStandIn({ prefix: opts.prefix });
  const state = createState(http.url, opts.login ?? 'patchbay[bot]', opts.repos);
  const failures: Failure[] = [];
  const apps = createAppState(opts.app);
  const login = opts.login ?? 'patchbay[bot]';
  const review = createReviewState({ login, appSlug: login.replace(/\[bot\]$/, '') });

  const guard =
    (handler: StandInHandler): StandInHandler =>
    (call) =>
      injectedFailure(failures, call) ?? apps.authorize(opts.token, call) ?? handler(call);
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
    guard((c) => state.listPulls(c)),
  );
  http.on(
    'POST /repos/:owner/:repo/pulls',
    guard((c) => state.createPull(c)),
  );
  http.on(
    'GET /repos/:owner/:repo/pulls/:number',
    guard((c) => state.getPull(c)),
  );
  http.on(
    'PATCH /repos/:owner/:repo/pulls/:number',
    guard((c) => state.updatePull(c)),
  );
  http.on(
    'POST /repos/:owner/:repo/issues/:number/comments',
    guard((c) => state.createComment(c)),
  );
  review.register(http, guard, opts.app ? appGuard : undefined, (c) => state.getPull(c).status === undefined);

  return {
    url: http.url,
    calls: http.calls,
    unmatched: http.unmatched,
    pulls: state.pulls,
    comments: state.comments,
    reactions: review.reactions,
    setPermission: review.setPermission,
    setReviewComments: review.setReviewComments,
    addPull: state.addPull,
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

function unauthorized(token: string | undefined, call: RecordedCall): StandInReply | undefined {
  if (token === undefined) return undefined;
  if (presented(call) === token) return undefined;
  return badCredentials();
}

function badCredentials(): StandInReply {
  return { status: 401, json: { message: 'Bad credentials', documentation_url: DOCS } };
}

/** The token of `authorization: token <t>` or `Bearer <t>`. */
function presented(call: RecordedCall): string | undefined {
  const match = /^(?:token|bearer) (.+)$/i.exec(call.headers.authorization ?? '');
  return match?.[1];
}

/** GitHub's limit on an App JWT's lifetime. */
const MAX_JWT_LIFETIME_S = 600;

/** The App side of the stand-in: JWT checks, installations, installation tokens. */
function createAppState(app: StandInApp | undefined) {
  const tokens: StandInInstallationToken[] = [];
  const jwtRejections: string[] = [];
  const installationOf = (repo: string) =>
    app?.installations.find((i) => i.repos.some((r) => r.toLowerCase() === repo.toLowerCase()));

  function liveToken(token: string): StandInInstallationToken | undefined {
    return tokens.find((t) => t.token === token && t.expiresAt > Date.now());
  }

  /** Without an App, the fixed token rule; with one, also an installation token covering the repo. */
  function authorize(token: string | undefined, call: RecordedCall): StandInReply | undefined {
    if (!app) return unauthorized(token, call);
    const value = presented(call);
    if (value !== undefined && value === token) return undefined;
    const live = value === undefined ? undefined : liveToken(value);
    if (!live) return badCredentials();
    const covering = call.params.owner ? installationOf(repoOf(call)) : undefined;
    // GitHub hides a repository outside the installation behind a 404, as for a private one.
    if (call.params.owner && covering?.id !== live.installationId) return notFound();
    return undefined;
  }

  function checkJwt(call: RecordedCall): StandInReply | undefined {
    const problem = app ? jwtProblem(app, call) : 'no app';
    if (!problem) return undefined;
    jwtRejections.push(problem);
    return {
      status: 401,
      json: { message: 'A JSON web token could not be decoded', documentation_url: DOCS },
    };
  }

  function getInstallation(call: RecordedCall): StandInReply {
    const installation = installationOf(repoOf(call));
    if (!app || !installation) return notFound();
    return {
      json: {
        id: installation.id,
        app_id: Number(app.id),
        account: { login: call.params.owner, type: 'Organization' },
        target_type: 'Organization',
        repository_selection: 'selected',
        permissions: INSTALLATION_PERMISSIONS,
      },
    };
  }

  function createToken(call: RecordedCall): StandInReply {
    const installation = app?.installations.find((i) => String(i.id) === call.params.id);
    if (!app || !installation) return notFound();
    // GitHub's expires_at has whole seconds.
    const expiresAt = Math.floor((Date.now() + (app.tokenLifetimeS ?? 3600) * 1000) / 1000) * 1000;
    const issued = {
      token: `ghs_${randomBytes(18).toString('hex')}`,
      installationId: installation.id,
      expiresAt,
    };
    tokens.push(issued);
    return {
      status: 201,
      json: {
        token: issued.token,
        expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        permissions: INSTALLATION_PERMISSIONS,
        repository_selection: 'selected',
      },
    };
  }

  return { tokens, jwtRejections, liveToken, authorize, checkJwt, getInstallation, createToken };
}

const INSTALLATION_PERMISSIONS = {
  contents: 'write',
  pull_requests: 'write',
  issues: 'write',
  metadata: 'read',
};

/** Why an App JWT is not acceptable, or undefined: RS256 over the App's key, `iss`, `iat`, `exp`. */
function jwtProblem(app: StandInApp, call: RecordedCall): string | undefined {
  const match = /^bearer (.+)$/i.exec(call.headers.authorization ?? '');
  if (!match?.[1]) return 'no bearer token';
  const [head = '', body = '', signature = '', ...rest] = match[1].split('.');
  if (rest.length > 0 || !signature) return 'not a JWT';
  let header: { alg?: unknown };
  let claims: { iss?: unknown; iat?: unknown; exp?: unknown };
  try {
    header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return 'undecodable';
  }
  if (header.alg !== 'RS256') return `alg ${String(header.alg)}`;
  const signed = Buffer.from(`${head}.${body}`);
  if (!verify('RSA-SHA256', signed, app.publicKey, Buffer.from(signature, 'base64url')))
    return 'bad signature';
  if (String(claims.iss) !== app.id) return `iss ${String(claims.iss)}`;
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= now) return 'expired';
  if (typeof claims.iat !== 'number' || claims.iat > now + 60) return 'iat in the future';
  if (claims.exp - claims.iat > MAX_JWT_LIFETIME_S) return 'lifetime over 10 minutes';
  return undefined;
}

function notFound(): StandInReply {
  return { status: 404, json: { message: 'Not Found', documentation_url: DOCS } };
}

function unprocessable(message: string, errors?: Array<Record<string, string>>): StandInReply {
  return { status: 422, json: { message, errors, documentation_url: DOCS } };
}

function createState(url: string, login: string, repos: StandInRepo[]) {
  const pulls: StandInPull[] = [];
  const comments: StandInComment[] = [];
  let nextId = 1;
  const nextNumber = new Map<string, number>();
  const find = (c: RecordedCall) => repos.find((r) => r.name.toLowerCase() === repoOf(c).toLowerCase());
  const findPull = (c: RecordedCall, repo: StandInRepo) =>
    pulls.find((p) => p.repo === repo.name && p.number === Number(c.params.number));

  function getRepo(c: RecordedCall): StandInReply {
    const repo = find(c);
    if (!repo) return notFound();
    const [owner = '', name = ''] = repo.name.split('/');
    return {
      json: {
        id: repos.indexOf(repo) + 1,
        name,
        full_name: repo.name,
        owner: { login: owner },
        private: repo.private ?? false,
        visibility: repo.private ? 'private' : 'public',
        default_branch: repo.defaultBranch ?? 'main',
        html_url: `${url}/html/${repo.name}`,
        permissions: { admin: false, push: true, pull: true },
      },
    };
  }

  function listPulls(c: RecordedCall): StandInReply {
    const repo = find(c);
    if (!repo) return notFound();
    const wanted = c.query.get('state') ?? 'open';
    const head = c.query.get('head');
    const base = c.query.get('base');
    const perPage = Number(c.query.get('per_page') ?? 30);
    const found = pulls
      .filter((p) => p.repo === repo.name && (wanted === 'all' || p.state === wanted))
      .filter((p) => (head ? p.head.label === head : true) && (base ? p.base.ref === base : true))
      .reverse()
      .slice(0, perPage);
    return { json: found.map(toJson) };
  }

  function createPull(c: RecordedCall): StandInReply {
    const repo = find(c);
    if (!repo) return notFound();
    const input = (c.body ?? {}) as Partial<Record<'head' | 'base' | 'title' | 'body', string>> & {
      draft?: boolean;
    };
    if (!input.head || !input.base || !input.title) {
      return unprocessable('Validation Failed', [{ resource: 'PullRequest', code: 'missing_field' }]);
    }
    if (input.draft && repo.draftsUnsupported) {
      return unprocessable('Draft pull requests are not supported in this repository.');
    }
    const owner = repo.name.split('/')[0] ?? '';
    const ref = input.head.includes(':') ? input.head.slice(input.head.indexOf(':') + 1) : input.head;
    const label = `${owner}:${ref}`;
    if (ref === input.base) {
      return unprocessable('Validation Failed', [
        { resource: 'PullRequest', code: 'custom', message: `No commits between ${input.base} and ${ref}` },
      ]);
    }
    if (pulls.some((p) => p.repo === repo.name && p.state === 'open' && p.head.label === label)) {
      const message = `A pull request already exists for ${label}.`;
      return unprocessable('Validation Failed', [{ resource: 'PullRequest', code: 'custom', message }]);
    }
    const number = (nextNumber.get(repo.name) ?? 0) + 1;
    nextNumber.set(repo.name, number);
    const pull: StandInPull = {
      repo: repo.name,
      number,
      head: { ref, label },
      base: { ref: input.base },
      title: input.title,
      body: input.body ?? '',
      draft: input.draft ?? false,
      state: 'open',
      html_url: `${url}/html/${repo.name}/pull/${number}`,
      user: { login },
    };
    pulls.push(pull);
    return { status: 201, json: toJson(pull) };
  }

  function addPull(
    input: Omit<StandInPull, 'number' | 'html_url' | 'state'> & { state?: 'open' | 'closed' },
  ) {
    const number = (nextNumber.get(input.repo) ?? 0) + 1;
    nextNumber.set(input.repo, number);
    const pull: StandInPull = {
      ...input,
      number,
      state: input.state ?? 'open',
      html_url: `${url}/html/${input.repo}/pull/${number}`,
    };
    pulls.push(pull);
    return pull;
  }

  function getPull(c: RecordedCall): StandInReply {
    const repo = find(c);
    const pull = repo && findPull(c, repo);
    return pull ? { json: toJson(pull) } : notFound();
  }

  function updatePull(c: RecordedCall): StandInReply {
    const repo = find(c);
    const pull = repo && findPull(c, repo);
    if (!pull) return notFound();
    const change = (c.body ?? {}) as Partial<Record<'title' | 'body' | 'base', string>> & { state?: string };
    if (change.title !== undefined) pull.title = change.title;
    if (change.body !== undefined) pull.body = change.body;
    if (change.base !== undefined) pull.base = { ref: change.base };
    if (change.state === 'open' || change.state === 'closed') pull.state = change.state;
    return { json: toJson(pull) };
  }

  function createComment(c: RecordedCall): StandInReply {
    const repo = find(c);
    const pull = repo && findPull(c, repo);
    if (!repo || !pull) return notFound();
    const body = (c.body as { body?: unknown } | undefined)?.body;
    if (typeof body !== 'string' || body.length === 0) {
      return unprocessable('Validation Failed', [
        { resource: 'IssueComment', code: 'missing_field', field: 'body' },
      ]);
    }
    const comment: StandInComment = {
      repo: repo.name,
      issueNumber: pull.number,
      id: nextId++,
      body,
      user: { login },
      at: Date.now(),
    };
    comments.push(comment);
    const htmlUrl = `${pull.html_url}#issuecomment-${comment.id}`;
    return { status: 201, json: { id: comment.id, body, user: comment.user, html_url: htmlUrl } };
  }

  return { pulls, comments, getRepo, listPulls, createPull, getPull, addPull, updatePull, createComment };
}

function repoOf(c: RecordedCall): string {
  return `${c.params.owner}/${c.params.repo}`;
}

/** The subset of GitHub's pull request object that clients read. */
function toJson(p: StandInPull) {
  return {
    id: p.number,
    number: p.number,
    state: p.state,
    title: p.title,
    body: p.body,
    draft: p.draft,
    html_url: p.html_url,
    user: { login: p.user.login, type: p.user.login.endsWith('[bot]') ? 'Bot' : 'User' },
    head: { ref: p.head.ref, label: p.head.label, repo: { full_name: p.head.repo ?? p.repo } },
    base: { ref: p.base.ref, repo: { full_name: p.repo } },
    merged: false,
  };
}
