import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyValueStore } from '../domain/ports.js';
import type { Logger } from '../lib/logger.js';
import { readCookie } from './cookies.js';
import { checkCrossSite, isJsonBody, isSameOrigin, readForm, refuseCrossSite } from './cross-site.js';
import { registerGitHubLoginRoutes } from './github-login-routes.js';
import type { HttpServer } from './http-server.js';
import { renderLoginPage } from './login-page.js';
import { sendPage, sendRedirect } from './page-headers.js';
import { SESSION_COOKIE } from './session-viewer.js';
import { equalSecrets, type Sessions } from './sessions.js';
import { createSignInCookies, LOGIN_COOKIE, type SignInCookies } from './sign-in-cookies.js';
import { safeNext } from './signed-out.js';

/** GitHub's side of signing in (integrations/github): its consent page, and who the code belongs to. */
export interface GitHubSignIn {
  /** GitHub's consent page (`${GITHUB_SERVER_URL}/login/oauth/authorize?…`) for this sign-in. */
  authorizeUrl(params: { state: string; redirectUri: string }): string;
  /** Swaps the callback's code for the person's token, reads who they are, and forgets the token. */
  userFor(params: { code: string; redirectUri: string }): Promise<{ login: string; id: number }>;
}

export interface LoginDeps {
  sessions: Sessions;
  /** Where sign-in `state`s wait for GitHub's callback (ten minutes, used once). */
  kv: KeyValueStore;
  github: GitHubSignIn | undefined;
  /** `PATCHBAY_API_TOKEN`: the operator signs in with it. */
  operatorToken: string | undefined;
  publicUrl: string | undefined;
  log: Logger;
}

/** What the routes share: the deps, the cookies, and the sign-in page with its form token. */
export interface LoginContext extends LoginDeps {
  cookies: SignInCookies;
  /** Sends the sign-in page (with this browser's sign-in cookie when it had none). */
  showLogin(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    view: { next: string; error?: string },
  ): void;
}

/**
 * `GET /login` (the sign-in page), `POST /login` (the operator's token), `GET /login/github` and
 * `GET /login/github/callback` (GitHub), `POST /logout`.
 */
export function registerLoginRoutes(http: HttpServer, deps: LoginDeps): void {
  const cookies = createSignInCookies({ publicUrl: deps.publicUrl, sessionTtlMs: deps.sessions.ttlMs });
  const ctx: LoginContext = {
    ...deps,
    cookies,
    showLogin(req, res, status, view) {
      const browser = cookies.browser(req);
      const html = renderLoginPage({
        github: deps.github !== undefined,
        operator: deps.operatorToken !== undefined,
        next: view.next,
        csrf: deps.sessions.formToken('login', browser.value),
        error: view.error,
      });
      sendPage(res, status, html, browser.setCookie ? { 'set-cookie': browser.setCookie } : {});
    },
  };

  http.route('GET', '/login', async (req, res) => {
    const next = safeNext(new URL(req.url ?? '/', 'http://patchbay.invalid').searchParams.get('next'));
    if (await deps.sessions.read(readCookie(req, SESSION_COOKIE))) return sendRedirect(res, next);
    ctx.showLogin(req, res, 200, { next });
  });
  http.route('POST', '/login', (req, res) => signInOperator(ctx, req, res));
  http.route('POST', '/logout', (req, res) => signOut(ctx, req, res));
  registerGitHubLoginRoutes(http, ctx);
}

async function signInOperator(ctx: LoginContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const form = await readForm(req).catch(() => null);
  const next = safeNext(form?.get('next'));
  const refuse = (status: number, reason: string, error: string) => {
    ctx.log.warn({ reason }, 'operator sign-in refused');
    ctx.showLogin(req, res, status, { next, error });
  };
  if (!ctx.operatorToken)
    return refuse(404, 'off', 'Operator sign-in is off: PATCHBAY_API_TOKEN is not set.');
  if (!form) return refuse(413, 'body', 'The form could not be read.');
  // The sign-in form is a state change too: a page elsewhere must not sign a browser in.
  const browser = readCookie(req, LOGIN_COOKIE);
  const csrf = form.get('csrf') ?? '';
  if (
    !isSameOrigin(req, ctx.publicUrl) ||
    !browser ||
    !equalSecrets(csrf, ctx.sessions.formToken('login', browser))
  )
    return refuse(
      403,
      'cross_site',
      'This form expired or did not come from this page. Please sign in again.',
    );
  if (!equalSecrets(form.get('token') ?? '', ctx.operatorToken))
    return refuse(401, 'wrong_token', 'That is not the operator token.');
  const { cookie } = await ctx.sessions.create({ login: 'operator', operator: true });
  ctx.log.info({ login: 'operator' }, 'signed in');
  sendRedirect(res, next, { 'set-cookie': [ctx.cookies.session(cookie), ctx.cookies.clearBrowser()] });
}

async function signOut(ctx: LoginContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const cookie = readCookie(req, SESSION_COOKIE);
  const session = await ctx.sessions.read(cookie);
  const form = await readForm(req).catch(() => new URLSearchParams());
  if (session) {
    const viewer = { via: 'session' as const, csrfToken: ctx.sessions.formToken('csrf', session.id) };
    const check = checkCrossSite(req, { viewer, publicUrl: ctx.publicUrl, form });
    if (!check.ok) {
      ctx.log.warn({ reason: check.reason }, 'sign-out refused');
      return refuseCrossSite(res, check);
    }
    await ctx.sessions.end(cookie);
    ctx.log.info({ login: session.login }, 'signed out');
  }
  const clear = { 'set-cookie': ctx.cookies.clearSession(), 'cache-control': 'no-store' };
  if (isJsonBody(req)) {
    res.writeHead(204, clear);
    res.end();
    return;
  }
  sendRedirect(res, '/login', clear);
}
