import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http-server.js';
import { sendRedirect } from './page-headers.js';

/** Where a sign-in leads when it was given nowhere, or somewhere that is not Patchbay's. */
export const DEFAULT_NEXT = '/tasks';

/**
 * `next` when it is a path of Patchbay's own (`/tasks/t123?x=1`), else `/tasks`: never another site
 * (`https://evil.example`, `//evil.example`, `/\evil.example`, which browsers read as hosts), never
 * the sign-in routes themselves.
 */
export function safeNext(next: string | null | undefined): string {
  if (!next || next.length > 2_000 || !next.startsWith('/')) return DEFAULT_NEXT;
  // Printable ASCII only (a path of ours is percent-encoded): browsers treat `\` like `/` and drop
  // tabs and newlines, so `/\evil` and `/<tab>/evil` would be other hosts.
  if (!/^[!-~]+$/.test(next) || next.includes('\\') || next.startsWith('//')) return DEFAULT_NEXT;
  const base = 'http://patchbay.invalid';
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    return DEFAULT_NEXT;
  }
  if (url.origin !== base) return DEFAULT_NEXT;
  if (url.pathname === '/login' || url.pathname.startsWith('/login/') || url.pathname === '/logout')
    return DEFAULT_NEXT;
  return `${url.pathname}${url.search}${url.hash}`;
}

/** How a signed-out request is answered: a page sends the browser to sign in; the API answers 401. */
export type SignedOutKind = 'page' | 'api';

/**
 * Answers a request that has no viewer, showing nothing of any task: a page (`GET /tasks/:id`)
 * redirects to `/login?next=<its path>`; the API and the event stream (`/api/*`) get 401 JSON. The
 * kind follows the path unless given.
 *
 * ```ts
 * const viewer = await viewerOf(req);
 * if (!viewer) return answerSignedOut(req, res);
 * ```
 */
export function answerSignedOut(req: IncomingMessage, res: ServerResponse, kind?: SignedOutKind): void {
  const url = new URL(req.url ?? '/', 'http://patchbay.invalid');
  const resolved = kind ?? (url.pathname === '/api' || url.pathname.startsWith('/api/') ? 'api' : 'page');
  if (resolved === 'api') {
    sendJson(
      res,
      401,
      { error: { code: 'unauthorized', message: 'sign in at /login, or send the bearer token' } },
      { 'www-authenticate': 'Bearer', 'cache-control': 'no-store' },
    );
    return;
  }
  // Only a GET can be repeated after signing in; a form's POST leads to the default page instead.
  const next = req.method === 'GET' ? safeNext(`${url.pathname}${url.search}`) : DEFAULT_NEXT;
  sendRedirect(res, `/login?${new URLSearchParams({ next })}`);
}
