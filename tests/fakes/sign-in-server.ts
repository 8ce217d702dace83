import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterEach } from 'vitest';
import { buildGitHubAccess } from '../../src/build-github-access.js';
import { buildSignIn } from '../../src/build-sign-in.js';
import { FileConfig } from '../../src/config/file-schema.js';
import { buildConfig, parseEnv } from '../../src/config/load-config.js';
import { startGitHubStandIn } from '../../src/demo/github-stand-in.js';
import type { Clock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { createRedisKeyValue } from '../../src/queue/redis-key-value.js';
import { checkCrossSite, readForm, refuseCrossSite } from '../../src/server/cross-site.js';
import { createHttpServer, sendJson } from '../../src/server/http-server.js';
import { sendPage } from '../../src/server/page-headers.js';
import { deriveSessionKey } from '../../src/server/sessions.js';
import { answerSignedOut } from '../../src/server/signed-out.js';
import { REDIS_URL } from './redis.js';

export const ALLOWED = ['acme/web', 'acme/api'];

export interface SignInServerOptions {
  env?: Record<string, string>;
  clock?: Clock;
}

/**
 * Patchbay's server with sign-in wired as main.ts wires it (sessions in a fresh Redis prefix, the
 * GitHub stand-in for sign-in and permissions, a token for Patchbay's own GitHub calls), plus routes
 * that stand for the pages and the API until they exist: `GET /api/probe/viewer?repo=…` (who is
 * looking and what they may see), `GET /tasks/probe` (a page) and `POST /api/probe/stop` (a state
 * change behind the cross-site check).
 */
export async function startSignInServer(opts: SignInServerOptions = {}) {
  const secrets = {
    apiToken: randomBytes(16).toString('hex'),
    githubToken: `ghs_${randomBytes(12).toString('hex')}`,
    clientId: `Iv1.${randomBytes(8).toString('hex')}`,
    clientSecret: randomBytes(20).toString('hex'),
  };
  const github = await startGitHubStandIn({
    repos: ALLOWED.map((name) => ({ name })),
    token: secrets.githubToken,
    oauth: { clientId: secrets.clientId, clientSecret: secrets.clientSecret },
  });
  const env = parseEnv({
    REDIS_URL,
    PATCHBAY_API_TOKEN: secrets.apiToken,
    GITHUB_TOKEN: secrets.githubToken,
    GITHUB_API_URL: github.url,
    GITHUB_SERVER_URL: github.serverUrl,
    GITHUB_CLIENT_ID: secrets.clientId,
    GITHUB_CLIENT_SECRET: secrets.clientSecret,
    ...opts.env,
  });
  const config = buildConfig(env, FileConfig.parse({ repositories: ALLOWED.map((name) => ({ name })) }));
  const logLines: string[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  });
  const redis = new Redis(REDIS_URL);
  const prefix = `pbtest:${randomBytes(4).toString('hex')}:`;
  const sessionKey = deriveSessionKey({
    apiToken: env.PATCHBAY_API_TOKEN,
    clientSecret: env.GITHUB_CLIENT_SECRET,
  });
  const signIn = buildSignIn({
    config,
    kv: createRedisKeyValue({ redis, prefix, namespace: 'auth' }),
    sessionKey,
    githubAccess: () => buildGitHubAccess(env, log),
    log,
    clock: opts.clock,
  });
  const http = createHttpServer({ log });
  signIn.registerRoutes(http);
  const stops: string[] = [];
  registerProbes(http, signIn, stops);
  const port = await http.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${port}`;

  return {
    base,
    github,
    logLines,
    secrets: { ...secrets, sessionKey: sessionKey ?? '' },
    /** Who stopped something through `POST /api/probe/stop`, in order. */
    stops,
    async close() {
      await http.close();
      await github.close();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    },
  };
}
export type SignInServer = Awaited<ReturnType<typeof startSignInServer>>;

function registerProbes(
  http: ReturnType<typeof createHttpServer>,
  signIn: ReturnType<typeof buildSignIn>,
  stops: string[],
): void {
  http.route('GET', '/api/probe/viewer', async (req, res) => {
    const viewer = await signIn.viewerOf(req);
    if (!viewer) return answerSignedOut(req, res);
    const repos = new URL(req.url ?? '/', 'http://x').searchParams.getAll('repo');
    const access = Object.fromEntries(
      await Promise.all(repos.map(async (r) => [r, await viewer.mayAccess(r)])),
    );
    sendJson(res, 200, { name: viewer.name, operator: viewer.operator, via: viewer.via, access });
  });
  http.route('GET', '/tasks/probe', async (req, res) => {
    const viewer = await signIn.viewerOf(req);
    if (!viewer) return answerSignedOut(req, res);
    sendPage(res, 200, `<!doctype html><p>${viewer.name}</p><input name="csrf" value="${viewer.csrfToken}">`);
  });
  http.route('POST', '/api/probe/stop', async (req, res) => {
    const viewer = await signIn.viewerOf(req);
    if (!viewer) return answerSignedOut(req, res);
    const form = await readForm(req);
    const check = checkCrossSite(req, { viewer, publicUrl: signIn.publicUrl, form });
    if (!check.ok) return refuseCrossSite(res, check);
    stops.push(viewer.name);
    sendJson(res, 202, { stopped: true });
  });
}

/** `name=value` of the cookie a response sets (not one it deletes), for the next request's `cookie`. */
export function cookieSet(res: Response, name: string): string | undefined {
  for (const header of res.headers.getSetCookie()) {
    const [pair = ''] = header.split(';');
    if (pair.startsWith(`${name}=`) && !/Max-Age=0(;|$)/.test(header) && pair.length > name.length + 1)
      return pair;
  }
  return undefined;
}

/**
 * Signs in through GitHub as `login` the way a browser does: Patchbay's redirect to GitHub, GitHub's
 * consent and redirect back, the callback. Answers every step's response and the session cookie.
 */
export async function signInWithGitHub(
  server: Pick<SignInServer, 'base' | 'github'>,
  login: string | null,
  next = '/tasks/t123',
) {
  server.github.signInAs(login);
  const start = await fetch(`${server.base}/login/github?${new URLSearchParams({ next })}`, {
    redirect: 'manual',
  });
  const browser = cookieSet(start, 'patchbay_login') ?? '';
  const authorize = new URL(start.headers.get('location') ?? '');
  const consent = await fetch(authorize, { redirect: 'manual' });
  const callback = new URL(consent.headers.get('location') ?? '');
  // With PATCHBAY_PUBLIC_URL the callback names the public host; a proxy there would forward it here.
  const done = await fetch(new URL(`${callback.pathname}${callback.search}`, server.base), {
    redirect: 'manual',
    headers: { cookie: browser },
  });
  return { start, authorize, callback, browser, done, session: cookieSet(done, 'patchbay_session') };
}

/** A sign-in server per test, closed after it. */
export function signInServerPerTest() {
  let current: SignInServer | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (opts: SignInServerOptions = {}) => {
    current = await startSignInServer(opts);
    return current;
  };
}
