import type { Logger } from '../lib/logger.js';
import { readCookie } from './cookies.js';
import type { Session, Sessions } from './sessions.js';
import type { Viewer, ViewerOf } from './viewer.js';

/** The session cookie's name: `HttpOnly; SameSite=Lax; Path=/`, `Secure` under https. */
export const SESSION_COOKIE = 'patchbay_session';

export interface SessionViewerDeps {
  sessions: Sessions;
  /** Whether `repo` is on `patchbay.yml`'s allowlist. */
  allowlisted: (repo: string) => boolean;
  /**
   * Whether a GitHub user has write, maintain or admin access to `repo` (the review loop's rule,
   * remembered a few minutes); undefined when Patchbay has no GitHub credentials to ask with.
   */
  mayWrite: ((repo: string, login: string) => Promise<boolean>) | undefined;
  log: Logger;
}

/**
 * The viewer of a request's session cookie: the operator signed in with `PATCHBAY_API_TOKEN` sees
 * every task; a person signed in with GitHub sees the tasks of allowlisted repositories they can
 * push to. A look-up that fails counts as no access, and is asked again next time.
 */
export function sessionViewer(deps: SessionViewerDeps): ViewerOf {
  return async (req) => {
    const session = await deps.sessions.read(readCookie(req, SESSION_COOKIE));
    return session ? toViewer(deps, session) : null;
  };
}

function toViewer(deps: SessionViewerDeps, session: Session): Viewer {
  const csrfToken = deps.sessions.formToken('csrf', session.id);
  if (session.operator) {
    return { name: 'operator', operator: true, via: 'session', csrfToken, mayAccess: async () => true };
  }
  const login = session.login;
  return {
    name: login,
    operator: false,
    via: 'session',
    csrfToken,
    async mayAccess(repo) {
      if (!deps.allowlisted(repo) || !deps.mayWrite) return false;
      try {
        return await deps.mayWrite(repo, login);
      } catch (err) {
        deps.log.warn({ repo, login, err: (err as Error).message }, 'repository access look-up failed');
        return false;
      }
    },
  };
}

/** The first viewer any of `viewerOfs` finds (the bearer before the cookie), or null. */
export function firstViewer(...viewerOfs: ViewerOf[]): ViewerOf {
  return async (req) => {
    for (const viewerOf of viewerOfs) {
      const viewer = await viewerOf(req);
      if (viewer) return viewer;
    }
    return null;
  };
}
