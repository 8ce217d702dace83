/** Supplies per-command git auth; the token never lands in the clone (.git/config, remote URL, env of agent). */
export interface GitCredentials {
  /** HTTP Authorization header value for this repo's remote, or undefined (local paths, public repos). */
  authorization(repo: string): Promise<string | undefined>;
}

/** A bare mirror of one repository, shared by every task of this machine. */
export interface Mirror {
  repo: string;
  dir: string;
}

/** One task's ephemeral clone, checked out on the task's branch. */
export interface TaskWorkspace {
  repo: string;
  /** host path of the clone */
  dir: string;
  mirrorDir: string;
  branch: string;
  base: string;
  /** sha the branch started from for this task (HEAD after checkout) */
  startSha: string;
  /** true when the branch already existed on the remote (a follow-up) */
  branchExisted: boolean;
}

/** Clone pool counters since the Workspaces object was made; see `Workspaces.stats()`. */
export interface WorkspaceStats {
  /** createClone calls served by a warm pool entry */
  poolHits: number;
  /** createClone calls that cloned and checked out from scratch (pool off, empty or entry unusable) */
  poolMisses: number;
  /** pool entries this object built in the background */
  poolEntriesBuilt: number;
  /** background builds that failed (each logged) */
  poolRefillErrors: number;
}

export interface CommitResult {
  sha: string;
  files: string[];
}

/**
 * Credentials for one token (a PAT or a GitHub App installation token) sent as HTTP Basic with the
 * `x-access-token` user, which is what GitHub's git endpoints accept for both kinds of token. No
 * token (undefined) means no header: public repositories and local remotes.
 */
export function tokenCredentials(
  token: string | undefined | ((repo: string) => Promise<string | undefined>),
): GitCredentials {
  return {
    async authorization(repo) {
      const value = typeof token === 'function' ? await token(repo) : token;
      if (!value) return undefined;
      return `Basic ${Buffer.from(`x-access-token:${value}`).toString('base64')}`;
    },
  };
}

/** For local remotes and public repositories: no Authorization header at all. */
export const noCredentials: GitCredentials = { authorization: async () => undefined };
