import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { readCookie } from './cookies.js';
import { ownOrigin } from './cross-site.js';
import type { HttpServer } from './http-server.js';
import type { GitHubSignIn, LoginContext } from './login-routes.js';
import { sendRedirect } from './page-headers.js';
import { equalSecrets } from './sessions.js';
import { LOGIN_COOKIE } from './sign-in-cookies.js';
import { safeNext } from './signed-out.js';

/** GitHub's callback must come within ten minutes of leaving for its consent page. */
const STATE_SECONDS = 600;

/** What a sign-in remembers while the browser is at GitHub. */
const PendingSignIn = z.object({ browser: z.string(), next: z.string(), redirectUri: z.string() });

const stateKey = (state: string) => `signin:state:${state}`;

/**
 * `GET /login/github` sends the browser to GitHub's consent page with a random `state`, kept ten
 * minutes and bound to this browser's sign-in cookie; `GET /login/github/callback` accepts that
 * state once, in that browser only, swaps the code for who the person is, and starts their session.
 */
export function registerGitHubLoginRoutes(http: HttpServer, ctx: LoginContext): void {
  http.route('GET', '/login/github', async (req, res) => {
    const next = safeNext(new URL(req.url ?? '/', 'http://patchbay.invalid').searchParams.get('next'));
    if (!ctx.github) {
      return ctx.showLogin(req, res, 404, { next, error: 'Sign-in with GitHub is off on this Patchbay.' });
    }
    const browser = ctx.cookies.browser(req);
    const state = randomBytes(24).toString('base64url');
    const redirectUri = new URL('/login/github/callback', ownOrigin(req, ctx.publicUrl)).toString();
    const pending: z.infer<typeof PendingSignIn> = { browser: browser.value, next, redirectUri };
    await ctx.kv.set(stateKey(state), JSON.stringify(pending), STATE_SECONDS);
    sendRedirect(
      res,
      ctx.github.authorizeUrl({ state, redirectUri }),
      browser.setCookie ? { 'set-cookie': browser.setCookie } : {},
    );
  });

  http.route('GET', '/login/github/callback', async (req, res) => {
    const github = ctx.github;
    const query = new URL(req.url ?? '/', 'http://patchbay.invalid').searchParams;
    const refuse = (status: number, reason: string, error: string, next = safeNext(undefined)) => {
      ctx.log.warn({ reason }, 'github sign-in refused');
      ctx.showLogin(req, res, status, { next, error });
    };
    if (!github) return refuse(404, 'off', 'Sign-in with GitHub is off on this Patchbay.');
    const pending = await takePending(ctx, query.get('state'));
    if (!pending)
      return refuse(400, 'state', 'This sign-in link has expired or was already used. Please sign in again.');
    const browser = readCookie(req, LOGIN_COOKIE);
    if (!browser || !equalSecrets(browser, pending.browser))
      return refuse(400, 'browser', 'This sign-in was started in another browser. Please sign in again.');
    if (query.get('error')) return refuse(403, 'declined', 'GitHub did not sign you in.', pending.next);
    const code = query.get('code');
    if (!code || code.length > 500)
      return refuse(400, 'code', 'GitHub sent no sign-in code. Please sign in again.', pending.next);
    await finishSignIn(ctx, github, res, { code, pending }).catch((err: Error) => {
      ctx.log.warn({ err: err.message }, 'github sign-in failed');
      ctx.showLogin(req, res, 502, {
        next: pending.next,
        error: 'GitHub could not confirm who you are. Please try again.',
      });
    });
  });
}

/** The pending sign-in of `state`, removed as it is read so that a state works once. */
async function takePending(ctx: LoginContext, state: string | null) {
  if (!state || !/^[A-Za-z0-9_-]{16,100}$/.test(state)) return undefined;
  const stored = await ctx.kv.take(stateKey(state));
  if (!stored) return undefined;
  try {
    const parsed = PendingSignIn.safeParse(JSON.parse(stored));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function finishSignIn(
  ctx: LoginContext,
  github: GitHubSignIn,
  res: ServerResponse,
  { code, pending }: { code: string; pending: z.infer<typeof PendingSignIn> },
): Promise<void> {
  const user = await github.userFor({ code, redirectUri: pending.redirectUri });
  const { cookie } = await ctx.sessions.create({ login: user.login, operator: false, githubId: user.id });
  ctx.log.info({ login: user.login }, 'signed in');
  sendRedirect(res, safeNext(pending.next), {
    'set-cookie': [ctx.cookies.session(cookie), ctx.cookies.clearBrowser()],
  });
}
