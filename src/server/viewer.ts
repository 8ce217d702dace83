import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Who is looking at Patchbay's pages or API, and what they may see: the operator (the bearer
 * `PATCHBAY_API_TOKEN`, or signed in with it) sees every task; a person signed in with GitHub sees
 * the tasks of repositories on which they have write, maintain or admin access, and may stop or
 * retry those.
 */
export interface Viewer {
  /** `operator`, or the GitHub login. */
  readonly name: string;
  readonly operator: boolean;
  /** Whether the viewer may see (and stop or retry) the tasks of `repo`. */
  mayAccess(repo: string): Promise<boolean>;
  /** How the request proved who it is: a cookie needs the cross-site checks, a bearer does not. */
  readonly via: 'bearer' | 'session';
  /** A session's CSRF token, for the hidden `csrf` field of its forms (server/cross-site.ts). */
  readonly csrfToken?: string;
}

/** Finds the viewer of a request, or null when it is signed out. */
export type ViewerOf = (req: IncomingMessage) => Promise<Viewer | null>;

/** The operator, by the API's bearer token. */
export function bearerViewer(token: string | undefined): ViewerOf {
  return async (req) => {
    if (!token) return null;
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    const expected = Buffer.from(token);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return { name: 'operator', operator: true, via: 'bearer', mayAccess: async () => true };
  };
}
