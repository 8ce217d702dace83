import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { readCookie, serializeCookie } from './cookies.js';
import { SESSION_COOKIE } from './session-viewer.js';

/**
 * A random value that marks one browser during sign-in (Path=/login, an hour): the sign-in form's
 * CSRF token is derived from it, and a GitHub `state` is only accepted back in the browser that
 * started it, so nobody can sign someone else in as themselves.
 */
export const LOGIN_COOKIE = 'patchbay_login';
const LOGIN_COOKIE_SECONDS = 3600;

/** The cookies of signing in and out; `Secure` when Patchbay's public address is https. */
export function createSignInCookies(opts: { publicUrl: string | undefined; sessionTtlMs: number }) {
  const secure = opts.publicUrl?.startsWith('https:') ?? false;
  return {
    session: (value: string) =>
      serializeCookie(SESSION_COOKIE, value, {
        maxAge: Math.floor(opts.sessionTtlMs / 1000),
        path: '/',
        secure,
      }),
    clearSession: () => serializeCookie(SESSION_COOKIE, '', { maxAge: 0, path: '/', secure }),
    /** This browser's sign-in value, and the `Set-Cookie` to send when it had none. */
    browser(req: IncomingMessage): { value: string; setCookie?: string } {
      const existing = readCookie(req, LOGIN_COOKIE);
      if (existing && existing.length >= 32) return { value: existing };
      const value = randomBytes(24).toString('base64url');
      return {
        value,
        setCookie: serializeCookie(LOGIN_COOKIE, value, {
          maxAge: LOGIN_COOKIE_SECONDS,
          path: '/login',
          secure,
        }),
      };
    },
    clearBrowser: () => serializeCookie(LOGIN_COOKIE, '', { maxAge: 0, path: '/login', secure }),
  };
}
export type SignInCookies = ReturnType<typeof createSignInCookies>;
