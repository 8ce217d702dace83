import type { IncomingMessage } from 'node:http';

/** A cookie's value from the request, or undefined when absent, repeated with other values, or odd. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header || header.length > 8_192) return undefined;
  const values = new Set<string>();
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    values.add(part.slice(eq + 1).trim());
  }
  // Two different values under one name (a cookie planted for a wider path or a parent domain
  // beside ours) are refused rather than guessed between.
  if (values.size !== 1) return undefined;
  const [value] = values;
  return value && /^[A-Za-z0-9._~-]{1,512}$/.test(value) ? value : undefined;
}

export interface CookieOptions {
  /** Seconds; 0 deletes the cookie. */
  maxAge: number;
  path: string;
  secure: boolean;
}

/**
 * A `Set-Cookie` value: always HttpOnly (no script reads it) and SameSite=Lax (a cross-site POST
 * does not carry it; following a link from elsewhere, such as GitHub's redirect back, does).
 */
export function serializeCookie(name: string, value: string, opts: CookieOptions): string {
  const parts = [
    `${name}=${value}`,
    `Max-Age=${opts.maxAge}`,
    `Path=${opts.path}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}
