import { createClonePool } from './clone-pool.js';
import { createCommits } from './commit-changes.js';
import { createWorkKeeper } from './keep-work.js';
import { createMirrorCache } from './mirror-cache.js';
import { createBranchPusher } from './push-branch.js';
import { sweepOrphans } from './sweep-orphans.js';
import { createTaskClones } from './task-clone.js';
import type { CloneState, EntryPreparer, Mirror, TaskClone, WorkspaceStats } from './types.js';
import { createWorkspaceContext, type WorkspaceContextDeps } from './workspace-context.js';

export interface WorkspacesDeps extends WorkspaceContextDeps {
  /**
   * Warm clones kept checked out per repository, so that a task's clone only rewrites the files that
   * differ instead of creating the whole tree. Default `{ size: 1 }`; `{ size: 0 }` turns the pool off.
   */
  pool?: { size: number };
  /** Runs setup in pool entries (prepared entries); without it entries are plain checkouts. */
  preparer?: EntryPreparer;
}

export interface Workspaces {
  /**
   * Creates or fetches the bare mirror under a lock (one fetch at a time per repo across processes on
   * this machine; concurrent callers wait, then share it). Unknown repo, 404 or auth failure →
   * PatchbayError('repo_not_found') permanent; network error → transient. Then fills the repository's
   * clone pool in the background (never awaited; see `poolIdle`).
   */
  syncMirror(repo: string, signal?: AbortSignal): Promise<Mirror>;
  /** The remote's default branch per the mirror's HEAD. */
  defaultBranch(mirror: Mirror): Promise<string>;
  /**
   * Ephemeral clone for one task from the mirror (no network; fetches only when there is no mirror
   * yet), on `branch`: its tip when it exists (branchExisted), else created from `base`
   * (missing → PatchbayError('base_not_found'), nothing left behind). Takes a warm pool entry when one
   * is ready, else clones and checks out in full; either way it then refills the pool in the background.
   */
  createClone(opts: { repo: string; taskId: string; branch: string; base: string }): Promise<TaskClone>;
  /**
   * At start-up: removes clones of dead processes, stale mirror locks, half-made mirrors and half-built
   * pool entries (and the pool of a repository whose mirror is gone); returns the count.
   */
  sweepOrphans(): Promise<number>;
  /** Deletes a patchbay/* branch on the remote (and in the mirror); an absent branch is fine. */
  deleteRemoteBranch(repo: string, branch: string): Promise<void>;
  /** Deletes a task's kept work (`refs/patchbay/work/<taskId>`) on the remote and in the mirror. */
  dropKeptWork(repo: string, taskId: string): Promise<void>;
  /** Pool counters since this object was made (a snapshot). */
  stats(): WorkspaceStats;
  /** Resolves once no pool refill started by this object runs: for tests, benchmarks and shutdown. */
  poolIdle(): Promise<void>;
}

/**
 * Git workspaces for tasks: a bare mirror per repository on this machine, an ephemeral clone per task
 * that borrows the mirror's objects (taken from a pool of warm, checked-out clones when one is ready),
 * and the host-side commit and push. The token travels only in the environment of the host's git
 * processes, never in argv, a config file, the clone or a pool entry.
 */
export function createWorkspaces(deps: WorkspacesDeps): Workspaces {
  const ctx = createWorkspaceContext(deps);
  const mirrors = createMirrorCache(ctx);
  const pool = createClonePool(ctx, { ...(deps.pool ?? { size: 1 }), preparer: deps.preparer });
  const clones = createTaskClones(ctx, mirrors, pool);
  const commits = createCommits(ctx, clones);
  const pusher = createBranchPusher(ctx, mirrors, clones);
  const keeper = createWorkKeeper(ctx, mirrors, clones);

  function toTaskClone(state: CloneState): TaskClone {
    const { tip: _tip, replayed: _replayed, kept: _kept, ...where } = state;
    return {
      ...where,
      commit: (opts) => commits.commit(state, opts),
      diff: () => commits.diffSummary(state),
      push: (signal) => pusher.push(state, signal),
      keepWork: (taskId, signal) => keeper.keep(state, taskId, signal),
      restoreWork: (taskId, work, signal) => keeper.restore(state, taskId, work, signal),
      dispose: () => clones.dispose(state),
    };
  }

  return {
    async syncMirror(repo, signal) {
      const mirror = await mirrors.syncMirror(repo, signal);
      pool.refill(repo, mirror.dir);
      return mirror;
    },
    defaultBranch: mirrors.defaultBranch,
    async createClone(req) {
      const ws = await clones.createClone(req);
      return toTaskClone({ ...ws, tip: undefined, replayed: false });
    },
    sweepOrphans: () => sweepOrphans(ctx),
    deleteRemoteBranch: pusher.deleteRemoteBranch,
    dropKeptWork: keeper.drop,
    stats: () => ({ ...pool.stats }),
    poolIdle: pool.idle,
  };
}
