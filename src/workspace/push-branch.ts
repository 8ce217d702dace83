import { isPatchbayBranch, PATCHBAY_BRANCH_PREFIX } from '../domain/conversation.js';
import { PatchbayError } from '../domain/errors.js';
import { cloneGitEnv } from './clone-git-env.js';
import { afterReplay } from './commit-changes.js';
import type { MirrorCache } from './mirror-cache.js';
import { createRebaser } from './rebase-onto-remote.js';
import { toPushError } from './remote-errors.js';
import type { TaskClones } from './task-clone.js';
import type { CloneState, TaskWorkspace } from './types.js';
import type { WorkspaceContext } from './workspace-context.js';

function assertOwnBranch(branch: string): void {
  if (!isPatchbayBranch(branch)) {
    throw new PatchbayError(
      'push_rejected',
      `refusing to push ${branch}: only ${PATCHBAY_BRANCH_PREFIX}* branches`,
      {
        permanent: true,
      },
    );
  }
}

/** Pushes and deletes task branches on the remote, and keeps the mirror in step. */
export function createBranchPusher(ctx: WorkspaceContext, mirrors: MirrorCache, clones: TaskClones) {
  const rebaser = createRebaser(ctx, mirrors);

  async function pushSha(ws: TaskWorkspace, sha: string, signal?: AbortSignal): Promise<void> {
    const env = cloneGitEnv(ws.dir, await ctx.remoteConfig(ws.repo));
    const refspec = `${sha}:refs/heads/${ws.branch}`;
    await ctx
      .git(['push', '--porcelain', '--no-verify', ctx.remoteUrl(ws.repo), refspec], {
        cwd: ws.dir,
        env,
        timeoutMs: ctx.timeouts.networkMs,
        signal,
      })
      .catch((err) => Promise.reject(toPushError(err, ws.repo, ws.branch)));
  }

  /**
   * Pushes the host's last commit (not the clone's HEAD, which the agent could have moved) to the
   * remote's URL itself, not to a remote name whose URL the clone's config holds. Never forced: the
   * remote decides whether it fast-forwards. When it refuses because someone pushed to the branch
   * meanwhile, the task's commits are replayed onto the new head and pushed once more (see
   * rebase-onto-remote.ts); if they do not apply cleanly the push fails for good, saying so.
   */
  async function push(ws: CloneState, signal?: AbortSignal): Promise<string> {
    assertOwnBranch(ws.branch);
    await clones.restoreClone(ws);
    let sha = ws.tip ?? ws.startSha;
    try {
      await pushSha(ws, sha, signal);
    } catch (err) {
      if (!(err instanceof PatchbayError) || err.code !== 'push_rejected' || err.permanent) throw err;
      // A second replay would take the person's commits the first one built on for the host's own.
      if (ws.replayed) throw afterReplay(ws);
      ws.replayed = true;
      ctx.log.info({ repo: ws.repo, branch: ws.branch }, 'branch moved on the remote; replaying onto it');
      sha = await rebaser.rebaseOntoRemote(ws, sha, signal);
      ws.tip = sha;
      await pushSha(ws, sha, signal);
    }
    await mirrors.publish(ws.dir, ws.mirrorDir, sha, ws.branch);
    ctx.log.info({ repo: ws.repo, branch: ws.branch, sha }, 'pushed branch');
    return sha;
  }

  /** Deletes the branch on the remote and in the mirror; a branch that is already gone is fine. */
  async function deleteRemoteBranch(repo: string, branch: string): Promise<void> {
    assertOwnBranch(branch);
    const mirror = await mirrors.ensureMirror(repo);
    const env = await ctx.remoteEnv(repo);
    await ctx
      .git(['push', '--porcelain', '--no-verify', ctx.remoteUrl(repo), `:refs/heads/${branch}`], {
        cwd: mirror.dir,
        env,
        timeoutMs: ctx.timeouts.networkMs,
      })
      .catch((err) => {
        if (/remote ref does not exist/i.test(`${err.stderr ?? ''}${err.stdout ?? ''}`)) return '';
        return Promise.reject(toPushError(err, repo, branch));
      });
    await mirrors.dropRef(mirror.dir, branch);
    ctx.log.info({ repo, branch }, 'deleted remote branch');
  }

  return { push, deleteRemoteBranch };
}
