import type { ServerResponse } from 'node:http';

/**
 * The Content-Security-Policy of every page: scripts, styles and connections from Patchbay itself
 * only (no inline script or style, so that text a model or a repository wrote cannot run even if it
 * escaped), no framing, no `<base>`, forms posting only to Patchbay.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * Headers for every HTML page: the CSP and its usual companions. Pages show private code, so they
 * are not cached, and no address of Patchbay's (a task id) leaks to another site through `Referer`.
 * Static assets take `X-Content-Type-Options` too, and a cache policy of their own.
 */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

/** Sends an HTML page with the security headers; `headers` may add to them (a `set-cookie`). */
export function sendPage(
  res: ServerResponse,
  status: number,
  html: string,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(status, { ...PAGE_SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', ...headers });
  res.end(html);
}

/** A redirect (303: the browser follows with GET) that is not cached and leaks no `Referer`. */
export function sendRedirect(
  res: ServerResponse,
  location: string,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...headers });
  res.end();
}
