import type { KeptWork } from '../domain/ports.js';
import type { RestoredWork } from './keep-work.js';
import type { SetupRecipe } from './setup-key.js';

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

/** Where one task's ephemeral clone is and what it started from. */
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
  /** Set when the clone is a prepared pool entry of the task's setup key (setup ran in it). */
  prepared?: PreparedFrom;
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
  /** entries built with the repository's setup run in them */
  poolEntriesPrepared: number;
  /** prepared entries brought to a moved base (checkout + maintenance) */
  poolEntriesRefreshed: number;
}

export interface CommitResult {
  sha: string;
  files: string[];
}

export interface CommitOptions {
  message: string;
  allowWorkflows: boolean;
  author?: { name: string; email: string };
}

export interface DiffSummary {
  files: string[];
  stat: string;
  patch: string;
}

/**
 * What the host did in a clone, kept by the clone: its last commit (the host never trusts the clone's
 * HEAD or branch ref, which the agent could have moved) and whether a push replayed its commits onto
 * a branch someone moved (then the clone is done: see push-branch.ts).
 */
export interface CloneState extends TaskWorkspace {
  tip: string | undefined;
  replayed: boolean;
  /** The task's last kept work in this clone (keep-work.ts): its commit (null: none yet) and tree. */
  kept?: { sha: string | null; tree: string };
}

/**
 * One task's ephemeral clone, checked out on the task's branch. It owns what the host does in it:
 * commit, diff and push work from its own state, never from the clone's HEAD; `dispose` removes it.
 */
export interface TaskClone extends Readonly<TaskWorkspace> {
  /**
   * Stages everything (respecting .gitignore) and commits as the bot with no hook; null when nothing
   * changed. Refuses changes under .github/workflows/ unless allowWorkflows. `files` are the paths
   * changed since startSha. Like diff and push, it first undoes what the agent may have done to
   * `.git` (planted commondir, attributes, symlinks: removed with a warning); a `.git` it replaced
   * (a `gitdir:` file, a symlink) → PatchbayError('internal') permanent, nothing committed or pushed.
   */
  commit(opts: CommitOptions): Promise<CommitResult | null>;
  /** Files, `--stat` and patch from the base branch's tip (merge base) to the last commit. */
  diff(): Promise<DiffSummary>;
  /**
   * Pushes the last commit to refs/heads/<branch> (patchbay/* only) at the remote's URL, auth in the
   * git process's env only and scoped to that URL (http.<url>.extraHeader), never forced. Someone
   * pushed meanwhile → the commits are replayed onto theirs once and pushed again; a conflict →
   * push_rejected permanent. Updates the mirror so that the next clone sees the branch. Resolves to
   * the sha pushed: the host's last commit, or its replay onto a branch someone moved.
   */
  push(signal?: AbortSignal): Promise<string>;
  /**
   * Keeps the work tree as it is now where any worker can fetch it: a commit (`[skip ci]`, trailer
   * `Patchbay-Kept-Work`) pushed to the task's own ref `refs/patchbay/work/<taskId>` when the tree
   * changed since the last one, never to a branch. Must not run while an agent command runs.
   */
  keepWork(taskId: string, signal?: AbortSignal): Promise<KeptWork>;
  /** Puts kept work back after setup (see RestoredWork for what else may have happened to it). */
  restoreWork(taskId: string, work: KeptWork, signal?: AbortSignal): Promise<RestoredWork>;
  /** Removes the clone whatever happens (idempotent). */
  dispose(): Promise<void>;
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

export type { SetupKind } from '../domain/timeline.js';

/**
 * Runs a repository's setup in pool entries (tasks/ builds it: it owns the sandbox and the config).
 * Without one, entries are plain checkouts.
 */
export interface EntryPreparer {
  /** The repository's recipe, or undefined when it has no setup nor maintenance to prepare. */
  recipe(repo: string): SetupRecipe | undefined;
  /** Entries kept per repository (`pool_size`). */
  size(repo: string): number;
  /**
   * Runs `full` setup, or `maintenance`, in an entry at the base's tip (cache writable), in the
   * sandbox at low priority. Throws when a command fails: the entry is dropped.
   */
  prepare(req: { repo: string; dir: string; mirrorDir: string; kind: 'full' | 'maintenance' }): Promise<void>;
}

/** A claimed entry that had setup run in it: its key and the commit it was prepared at. */
export interface PreparedFrom {
  key: string;
  sha: string;
}
