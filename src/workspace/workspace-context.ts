import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { PatchbayError } from '../domain/errors.js';
import type { Logger } from '../lib/logger.js';
import { configEnv, type RunGitOptions, runGit } from './git.js';
import type { GitCredentials } from './types.js';

/** What the workspace operations share: paths under `root`, the git runner and the auth source. */
export interface WorkspaceContext {
  root: string;
  home: string;
  mirrorsDir: string;
  tasksDir: string;
  locksDir: string;
  /** Warm clones ready for the next task, per repository; on the same filesystem as tasksDir. */
  poolDir: string;
  remoteUrl(repo: string): string;
  log: Logger;
  bot: { name: string; email: string };
  git(args: string[], opts?: RunGitOptions): Promise<string>;
  /**
   * Config for a host git process that talks to the remote: the Authorization header scoped to the
   * remote's URL, for GIT_CONFIG_COUNT (never argv). See remoteEnv for an environment of its own.
   */
  remoteConfig(repo: string): Promise<Array<[string, string]>>;
  /** remoteConfig as an environment, for git outside a task clone (the mirror). */
  remoteEnv(repo: string): Promise<Record<string, string>>;
  timeouts: { networkMs: number; localMs: number };
  lock: { waitMs: number; staleMs: number };
  /** How long a clone whose owner is on another host (unknowable) is kept. */
  foreignMaxAgeMs: number;
}

export interface WorkspaceContextDeps {
  /** e.g. /var/lib/patchbay: mirrors/, tasks/, locks/ and git's home/ below it */
  root: string;
  /** `${GITHUB_SERVER_URL}/${repo}.git`, or a local path/file URL for `patchbay run --repo ./dir` */
  remoteUrl: (repo: string) => string;
  credentials: GitCredentials;
  log: Logger;
  /** Committer (and default author) of Patchbay's commits. */
  bot?: { name: string; email: string };
  /** Where git is looked for: the host's PATH (default /usr/local/bin:/usr/bin:/bin). */
  searchPath?: string;
}

/** Refuses a remote URL with a password in it: that secret would end up in the mirror's config. */
function checkedRemoteUrl(remoteUrl: (repo: string) => string): (repo: string) => string {
  return (repo) => {
    const url = remoteUrl(repo);
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(url)) {
      throw new PatchbayError('invalid_config', 'a git remote URL must not carry credentials');
    }
    return url;
  };
}

export function createWorkspaceContext(deps: WorkspaceContextDeps): WorkspaceContext {
  const home = join(deps.root, 'home');
  const remoteUrl = checkedRemoteUrl(deps.remoteUrl);
  async function remoteConfig(repo: string): Promise<Array<[string, string]>> {
    const header = await deps.credentials.authorization(repo);
    // Abort a transfer that stalls below 1 KB/s for a minute rather than hang until the timeout.
    const entries: Array<[string, string]> = [
      ['http.lowSpeedLimit', '1000'],
      ['http.lowSpeedTime', '60'],
    ];
    // http.<url>.* applies only to requests whose URL matches (scheme, host, port, path prefix): if a
    // URL rewrite or anything else sends git to another server, the token does not go with it.
    // https://git-scm.com/docs/git-config#Documentation/git-config.txt-httplturlgt
    if (header) entries.push([`http.${remoteUrl(repo)}.extraHeader`, `Authorization: ${header}`]);
    return entries;
  }
  return {
    root: deps.root,
    home,
    mirrorsDir: join(deps.root, 'mirrors'),
    tasksDir: join(deps.root, 'tasks'),
    locksDir: join(deps.root, 'locks'),
    poolDir: join(deps.root, 'pool'),
    remoteUrl,
    log: deps.log,
    bot: deps.bot ?? { name: 'patchbay[bot]', email: 'patchbay[bot]@users.noreply.github.com' },
    git: (args, opts) => runGit({ home, searchPath: deps.searchPath }, args, opts),
    remoteConfig,
    remoteEnv: async (repo) => configEnv(await remoteConfig(repo)),
    timeouts: { networkMs: 30 * 60_000, localMs: 5 * 60_000 },
    lock: { waitMs: 45 * 60_000, staleMs: 60 * 60_000 },
    foreignMaxAgeMs: 24 * 60 * 60_000,
  };
}

/** A directory name for a repository that is safe whatever the repo string holds (`owner/name` or a path). */
export function mirrorName(repo: string): string {
  const slug = repo
    .replace(/[^A-Za-z0-9._-]+/g, '+')
    .replace(/^[.+]+/, '')
    .slice(-60);
  const hash = createHash('sha256').update(repo).digest('hex').slice(0, 8);
  return `${slug}-${hash}.git`;
}
