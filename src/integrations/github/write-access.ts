import { type Clock, systemClock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';

/** Roles that may start work from a pull request: the people who could push the change themselves. */
const WRITERS: ReadonlySet<string> = new Set(['admin', 'maintain', 'write']);

/**
 * Whether a person has write access to a repository (`GET …/collaborators/{user}/permission`),
 * remembered for `ttlMs` (default a minute) so that a burst of comments costs one look-up, while a
 * removed collaborator loses access soon after. Concurrent look-ups for the same person share one call.
 */
export function createWriteAccess(deps: {
  permission: (repo: string, login: string) => Promise<string>;
  log: Logger;
  ttlMs?: number;
  clock?: Pick<Clock, 'now'>;
}) {
  const ttl = deps.ttlMs ?? 60_000;
  const clock = deps.clock ?? systemClock;
  const now = () => clock.now();
  const cache = new Map<string, { at: number; allowed: Promise<boolean> }>();

  return function mayWrite(repo: string, login: string): Promise<boolean> {
    const key = `${repo.toLowerCase()}:${login.toLowerCase()}`;
    const hit = cache.get(key);
    if (hit && now() - hit.at < ttl) return hit.allowed;
    if (cache.size > 5_000) cache.clear();
    const allowed = deps.permission(repo, login).then((role) => WRITERS.has(role));
    cache.set(key, { at: now(), allowed });
    allowed.catch(() => cache.delete(key));
    return allowed;
  };
}
