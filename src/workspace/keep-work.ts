import { access, copyFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PatchbayError } from '../domain/errors.js';
import type { KeptWork } from '../domain/ports.js';
import { cloneGitEnv, cloneGitOptions } from './clone-git-env.js';
import type { MirrorCache } from './mirror-cache.js';
import { toPushError } from './remote-errors.js';
import type { TaskClones } from './task-clone.js';
import type { CloneState } from './types.js';
import type { WorkspaceContext } from './workspace-context.js';

/**
 * Where a task's work in progress is kept on the remote: a ref of Patchbay's own, outside
 * `refs/heads/` and `refs/tags/`, so it is no branch, no pull request shows it and nothing that
 * reacts to branches (CI, the review loop) sees it. Its commits also say so in their message (see
 * KEPT_WORK_MESSAGE), for anything that looks at every pushed ref.
 */
export const KEPT_WORK_REF_PREFIX = 'refs/patchbay/work/';

/** The trailer that marks a commit as kept work (never a result to review); its value is the task id. */
export const KEPT_WORK_TRAILER = 'Patchbay-Kept-Work';

const SAFE_TASK_ID = /^[A-Za-z0-9_-]{1,80}$/;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

export function keptWorkRef(taskId: string): string {
  if (!SAFE_TASK_ID.test(taskId)) {
    throw new PatchbayError('internal', 'a task id that cannot name a ref', { permanent: true });
  }
  return `${KEPT_WORK_REF_PREFIX}${taskId}`;
}

const keptMessage = (taskId: string) =>
  `[skip ci] Patchbay: work in progress of task ${taskId}\n\n` +
  'Kept so that an interrupted attempt can resume; not a result to review.\n\n' +
  `Patchbay-Task: ${taskId}\n${KEPT_WORK_TRAILER}: ${taskId}\n`;

/** How kept work came back in a new clone. */
export type RestoredWork =
  /** The work tree is as it was when the work was kept. */
  | 'restored'
  /** The branch already holds this task's published result on top of where the work began. */
  | 'published'
  /** The branch moved otherwise since (a person pushed): the kept work no longer applies. */
  | 'moved'
  /** The kept commit could not be fetched (its ref was dropped or rewritten). */
  | 'missing';

/**
 * Keeps and restores a task's work in progress between attempts. Keeping snapshots the work tree
 * (what `git add --all` would stage, ignored files left out) through an index of its own outside the
 * clone, so the agent's index and `git diff` are untouched, and pushes a commit of it to the task's
 * kept-work ref only when the tree changed since the last one. The agent runs no command meanwhile.
 */
export function createWorkKeeper(ctx: WorkspaceContext, mirrors: MirrorCache, clones: TaskClones) {
  const inClone = (ws: CloneState, vars: Record<string, string> = {}) =>
    cloneGitOptions(ws.dir, ctx.timeouts.localMs, { vars });
  const git = (ws: CloneState, args: string[], vars?: Record<string, string>, input?: string) =>
    ctx.git(args, { ...inClone(ws, vars), input }).then((out) => out.trim());

  /** The tree of the work tree, staged in the keeper's own index (seeded from the clone's, for speed). */
  async function snapshotTree(ws: CloneState): Promise<string> {
    const index = join(dirname(ws.dir), 'kept-index');
    const vars = { GIT_INDEX_FILE: index };
    try {
      // The clone's index has the stat data of the checkout: `add` then rehashes only what changed.
      if (!(await exists(index))) await copyFile(join(ws.dir, '.git', 'index'), index);
      await git(ws, ['add', '--all'], vars);
    } catch {
      // The agent may have removed or damaged the clone's index: start the keeper's from the commit.
      await rm(index, { force: true });
      await git(ws, ['read-tree', ws.startSha], vars);
      await git(ws, ['add', '--all'], vars);
    }
    return git(ws, ['write-tree'], vars);
  }

  async function keep(ws: CloneState, taskId: string, signal?: AbortSignal): Promise<KeptWork> {
    const ref = keptWorkRef(taskId);
    await clones.restoreClone(ws);
    const tree = await snapshotTree(ws);
    const last = ws.kept ?? { sha: null, tree: await git(ws, ['rev-parse', `${ws.startSha}^{tree}`]) };
    if (tree === last.tree) {
      ws.kept = last;
      return { base: ws.startSha, sha: last.sha };
    }
    const identity = {
      GIT_AUTHOR_NAME: ctx.bot.name,
      GIT_AUTHOR_EMAIL: ctx.bot.email,
      GIT_COMMITTER_NAME: ctx.bot.name,
      GIT_COMMITTER_EMAIL: ctx.bot.email,
    };
    const parent = last.sha ?? ws.startSha;
    const sha = await git(ws, ['commit-tree', tree, '-p', parent, '-F', '-'], identity, keptMessage(taskId));
    const env = cloneGitEnv(ws.dir, await ctx.remoteConfig(ws.repo));
    // The ref is this task's own: forcing it never touches anyone else's work.
    await ctx
      .git(['push', '--porcelain', '--no-verify', ctx.remoteUrl(ws.repo), `+${sha}:${ref}`], {
        cwd: ws.dir,
        env,
        timeoutMs: ctx.timeouts.networkMs,
        signal,
      })
      .catch((err) => Promise.reject(toPushError(err, ws.repo, ref)));
    ws.kept = { sha, tree };
    ctx.log.info({ repo: ws.repo, taskId, sha }, 'kept the work so far');
    return { base: ws.startSha, sha };
  }

  /**
   * Puts kept work back into a new clone, after setup and before the agent: the work tree becomes the
   * kept tree, the index stays the branch's (so `git diff` shows the agent's changes as before).
   */
  async function restore(
    ws: CloneState,
    taskId: string,
    work: KeptWork,
    signal?: AbortSignal,
  ): Promise<RestoredWork> {
    if (ws.startSha !== work.base) return (await isOwnResult(ws, taskId, work.base)) ? 'published' : 'moved';
    if (!work.sha) return 'restored';
    const fetched = await mirrors.fetchRef(ws.repo, keptWorkRef(taskId), signal).then(
      () => true,
      () => false,
    );
    await clones.restoreClone(ws);
    const tree = fetched
      ? await git(ws, ['rev-parse', '--verify', '--quiet', `${work.sha}^{tree}`]).catch(() => '')
      : '';
    if (!tree) return 'missing';
    await git(ws, ['read-tree', '-u', '--reset', tree]);
    await git(ws, ['read-tree', ws.startSha]);
    await git(ws, ['update-index', '-q', '--refresh']).catch(() => '');
    ws.kept = { sha: work.sha, tree };
    ctx.log.info({ repo: ws.repo, taskId, sha: work.sha }, 'restored the kept work');
    return 'restored';
  }

  /** The branch's tip is this task's own commit on top of `base` (a published result whose recording failed). */
  async function isOwnResult(ws: CloneState, taskId: string, base: string): Promise<boolean> {
    await clones.restoreClone(ws);
    const out = await git(ws, ['log', '-1', '--format=%P%x00%B', ws.startSha]).catch(() => '');
    const [parents = '', body = ''] = out.split('\0');
    return parents.split(' ')[0] === base && body.split('\n').includes(`Patchbay-Task: ${taskId}`);
  }

  /** Deletes the task's kept-work ref on the remote and in the mirror; an absent one is fine. */
  async function drop(repo: string, taskId: string): Promise<void> {
    const ref = keptWorkRef(taskId);
    const mirror = await mirrors.ensureMirror(repo);
    await ctx
      .git(['push', '--porcelain', '--no-verify', ctx.remoteUrl(repo), `:${ref}`], {
        cwd: mirror.dir,
        env: await ctx.remoteEnv(repo),
        timeoutMs: ctx.timeouts.networkMs,
      })
      .catch((err) => {
        if (/remote ref does not exist/i.test(`${err.stderr ?? ''}${err.stdout ?? ''}`)) return '';
        return Promise.reject(toPushError(err, repo, ref));
      });
    await mirrors.dropAnyRef(mirror.dir, ref);
  }

  return { keep, restore, drop };
}
