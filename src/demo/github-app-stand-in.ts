import { randomBytes, verify } from 'node:crypto';
import { badCredentials, DOCS, notFound, presented, repoOf } from './github-stand-in-replies.js';
import type { RecordedCall, StandInReply } from './http-stand-in.js';

/** A GitHub App the stand-in knows: App JWTs are checked against its public key. */
export interface StandInApp {
  /** The App ID a JWT's `iss` must carry. */
  id: string;
  /** PEM public key (SPKI) the App's RS256 JWTs must verify against. */
  publicKey: string;
  installations: Array<{ id: number; repos: string[] }>;
  /** How long an installation token lives, in seconds (GitHub: 3600). */
  tokenLifetimeS?: number;
  /** The time installation tokens are issued and checked by (default the system's); JWTs use the system's. */
  now?: () => number;
  /** What the installations granted (default: what docs/github-app.md asks for). */
  permissions?: Record<string, string>;
}

export interface StandInInstallationToken {
  token: string;
  installationId: number;
  /** ms since the epoch */
  expiresAt: number;
}

function unauthorized(token: string | undefined, call: RecordedCall): StandInReply | undefined {
  if (token === undefined) return undefined;
  if (presented(call) === token) return undefined;
  return badCredentials();
}

/** GitHub's limit on an App JWT's lifetime. */
const MAX_JWT_LIFETIME_S = 600;

/** The App side of the stand-in: JWT checks, installations, installation tokens. */
export function createAppState(app: StandInApp | undefined) {
  const tokens: StandInInstallationToken[] = [];
  const now = app?.now ?? Date.now;
  const jwtRejections: string[] = [];
  const installationOf = (repo: string) =>
    app?.installations.find((i) => i.repos.some((r) => r.toLowerCase() === repo.toLowerCase()));

  function liveToken(token: string): StandInInstallationToken | undefined {
    return tokens.find((t) => t.token === token && t.expiresAt > now());
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
        permissions: app.permissions ?? INSTALLATION_PERMISSIONS,
      },
    };
  }

  function createToken(call: RecordedCall): StandInReply {
    const installation = app?.installations.find((i) => String(i.id) === call.params.id);
    if (!app || !installation) return notFound();
    // GitHub's expires_at has whole seconds.
    const expiresAt = Math.floor((now() + (app.tokenLifetimeS ?? 3600) * 1000) / 1000) * 1000;
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
        permissions: app.permissions ?? INSTALLATION_PERMISSIONS,
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
  checks: 'read',
  actions: 'read',
  statuses: 'read',
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
