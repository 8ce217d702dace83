import type { IncomingMessage, ServerResponse } from 'node:http';
import { readRawBody, sendJson } from './http-server.js';
import { equalSecrets } from './sessions.js';
import type { Viewer } from './viewer.js';

/**
 * Patchbay's own origin as browsers see it: `PATCHBAY_PUBLIC_URL`'s, or else the request's
 * (`X-Forwarded-Proto`/`X-Forwarded-Host` of a proxy, else `Host`). A request's own headers can only
 * fool a request without a victim's cookies, so the fallback is safe for the checks below; OAuth
 * redirects are safe too because GitHub only sends codes to registered callback URLs.
 */
export function ownOrigin(req: IncomingMessage, publicUrl: string | undefined): string {
  if (publicUrl) return new URL(publicUrl).origin;
  const first = (value: string | string[] | undefined) =>
    String(Array.isArray(value) ? value[0] : (value ?? ''))
      .split(',')[0]
      ?.trim();
  const proto = first(req.headers['x-forwarded-proto']) === 'https' ? 'https' : 'http';
  const host = first(req.headers['x-forwarded-host']) || req.headers.host || 'localhost';
  try {
    return new URL(`${proto}://${host}`).origin;
  } catch {
    return 'http://localhost';
  }
}

/** Whether the request's `Origin` header is Patchbay's own origin (a missing one is not). */
export function isSameOrigin(req: IncomingMessage, publicUrl: string | undefined): boolean {
  const origin = req.headers.origin;
  return typeof origin === 'string' && origin === ownOrigin(req, publicUrl);
}

/** Whether the body is JSON, which a page elsewhere cannot send without CORS (which Patchbay never grants). */
export function isJsonBody(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/json';
}

export type CrossSiteCheck = { ok: true } | { ok: false; reason: 'origin' | 'csrf' };

/**
 * The check every state-changing route that accepts the session cookie runs (Stop, Retry, logout,
 * `/api/*` once it takes cookies): a bearer request needs nothing more; a cookie's request must come
 * from Patchbay's own origin and carry a JSON body or the session's CSRF token as the form field
 * `csrf` (`form`: the parsed urlencoded body). Call it after reading the body, before acting.
 *
 * ```ts
 * const check = checkCrossSite(req, { viewer, publicUrl, form });
 * if (!check.ok) return refuseCrossSite(res, check);
 * ```
 */
export function checkCrossSite(
  req: IncomingMessage,
  opts: {
    viewer: Pick<Viewer, 'via' | 'csrfToken'>;
    publicUrl: string | undefined;
    form?: URLSearchParams;
  },
): CrossSiteCheck {
  if (opts.viewer.via === 'bearer') return { ok: true };
  if (!isSameOrigin(req, opts.publicUrl)) return { ok: false, reason: 'origin' };
  if (isJsonBody(req)) return { ok: true };
  const given = opts.form?.get('csrf');
  const expected = opts.viewer.csrfToken;
  if (!given || !expected || !equalSecrets(given, expected)) return { ok: false, reason: 'csrf' };
  return { ok: true };
}

/** Answers a refused state change: 403 with a JSON error that says which check failed. */
export function refuseCrossSite(res: ServerResponse, check: { reason: 'origin' | 'csrf' }): void {
  const message =
    check.reason === 'origin'
      ? 'refused: the request did not come from a Patchbay page (Origin)'
      : 'refused: a form needs its csrf field (or send JSON)';
  sendJson(res, 403, { error: { code: 'cross_site', message } });
}

/**
 * A form's fields (`application/x-www-form-urlencoded`), empty for any other body; throws
 * `BodyTooLargeError` past `limit` bytes. Read it before `checkCrossSite`, which looks for `csrf`.
 */
export async function readForm(req: IncomingMessage, limit = 16_384): Promise<URLSearchParams> {
  const raw = await readRawBody(req, limit);
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded'
    ? new URLSearchParams(raw.toString('utf8'))
    : new URLSearchParams();
}
