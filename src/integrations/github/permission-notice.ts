import type { KeyValueStore } from '../../domain/ports.js';
import type { Logger } from '../../lib/logger.js';
import type { CheckPermission } from './check-api.js';

/** What the autofix reads, and the App permission each read needs. */
const NEEDED: readonly CheckPermission[] = ['checks', 'actions', 'statuses'];
const SAID_TTL_S = 86_400;

/**
 * Says what the GitHub App lacks for the autofix (`checks`, `actions`, `statuses`: read), once: at the
 * first check event a process sees, from the installation's permissions when Patchbay runs as an
 * App, and whenever a read is refused for want of one. Each missing permission is said at most once a
 * day, whichever process notices it (a key in Redis), and once per process.
 */
export function createPermissionNotice(deps: {
  permissionsFor?: (repo: string) => Promise<Record<string, string> | undefined>;
  kv: KeyValueStore;
  log: Logger;
}) {
  const said = new Set<string>();
  let looked = false;

  async function say(missing: CheckPermission[], how: 'installation' | 'refused'): Promise<void> {
    const fresh: CheckPermission[] = [];
    for (const permission of missing) {
      if (said.has(permission)) continue;
      said.add(permission);
      if (await deps.kv.setIfAbsent(`permission-said:${permission}`, how, SAID_TTL_S)) fresh.push(permission);
    }
    if (fresh.length === 0) return;
    deps.log.warn(
      { missing: fresh.map((p) => `${p}: read`), how },
      "the GitHub App lacks permissions the autofix needs; add them in the App's settings (docs/github-app.md)",
    );
  }

  return {
    /** At the first check event of this process: the installation's permissions, when known. */
    async lookOnce(repo: string): Promise<void> {
      if (looked || !deps.permissionsFor) return;
      looked = true;
      const granted = await deps.permissionsFor(repo).catch(() => undefined);
      if (!granted) return;
      const missing = NEEDED.filter((p) => granted[p] !== 'read' && granted[p] !== 'write');
      if (missing.length) await say(missing, 'installation');
    },
    /** A read was refused for want of `permission`. */
    refused: (permission: CheckPermission) => say([permission], 'refused'),
  };
}
export type PermissionNotice = ReturnType<typeof createPermissionNotice>;
