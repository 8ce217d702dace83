import { PatchbayError } from '../domain/errors.js';
import { cloneGitOptions } from './clone-git-env.js';
import { GitError } from './git.js';
import type { MirrorCache } from './mirror-cache.js';
import type { TaskWorkspace } from './types.js';
import type { WorkspaceContext } from './workspace-context.js';

type Git = (args: string[], vars?: Record<string, string>, input?: string) => Promise<string>;

/** One commit to replay: merged with the remote's new `head`, recorded on top of `parent`. */
interface ReplayStep {
  head: string;
  parent: string;
  commit: string;
}

const splitZ = (out: string) => out.split('\0').filter(Boolean);

const movedHint =
  'Someone pushed to the branch while Patchbay worked. Ask again (on the pull request, mention `@patchbay`) and it starts from the new head.';

/**
 * Replays the host's commits of this task (`startSha..sha`) onto the remote branch's new head, the
 * way `git rebase` would, without touching the work tree the agent wrote to: each commit is merged
 * in memory with `git merge-tree --write-tree` (git ≥ 2.38) and recorded with `commit-tree` (no hook
 * runs), keeping its author and message. Used when a push was rejected because a person pushed to
 * the branch meanwhile; the new commits then sit on top of theirs and the push stays a fast-forward.
 * A conflict, or a head that no longer contains where the task started (history rewritten), is a
 * permanent `push_rejected` that says someone pushed meanwhile. Never forces anything.
 *
 * Each commit `C` is merged with the new head itself (merge base: `startSha`), never with the replay
 * of the commit before it: `C`'s tree holds every change of the task up to `C`, so the result is
 * exactly "their head plus Patchbay's changes so far" (git 2.39 has no `merge-tree --merge-base`, and
 * merging with the previous replay would bring back what a later commit removed). A replayed commit
 * may change only paths its original changed: the merge's rename detection would otherwise carry
 * Patchbay's change into a file a person moved, e.g. into `.github/workflows/`, past the check that
 * commit-changes.ts made on the original paths. Their own commits are pushed as they are: they are
 * on the remote already. A clone is replayed at most once (push-branch.ts): `startSha..sha` is then
 * only the host's commits, and no later commit is made from a work tree that lacks theirs.
 */
export function createRebaser(ctx: WorkspaceContext, mirrors: MirrorCache) {
  async function rebaseOntoRemote(ws: TaskWorkspace, sha: string, signal?: AbortSignal): Promise<string> {
    const mirror = await mirrors.syncMirror(ws.repo, signal);
    const git = (args: string[], vars: Record<string, string> = {}, input?: string) =>
      ctx.git(args, { ...cloneGitOptions(ws.dir, ctx.timeouts.localMs, { vars }), input });
    const head = (
      await ctx
        .git(['rev-parse', '--verify', '--quiet', `refs/heads/${ws.branch}^{commit}`], { cwd: mirror.dir })
        .catch(() => '')
    ).trim();
    if (!head) throw moved(ws, 'then deleted the branch');
    const contains = await git(['merge-base', '--is-ancestor', ws.startSha, head]).then(
      () => true,
      () => false,
    );
    if (!contains) throw moved(ws, 'rewrote its history');
    const commits = (await git(['rev-list', '--reverse', '--topo-order', `${ws.startSha}..${sha}`]))
      .split('\n')
      .filter(Boolean);
    let current = head;
    for (const commit of commits) current = await replay(git, ws, { head, parent: current, commit });
    await git(['update-ref', `refs/heads/${ws.branch}`, current]);
    ctx.log.info(
      { repo: ws.repo, branch: ws.branch, onto: head, sha: current },
      'rebased onto the moved branch',
    );
    return current;
  }

  async function replay(git: Git, ws: TaskWorkspace, step: ReplayStep): Promise<string> {
    const tree = await mergeTree(git, ws, step.head, step.commit);
    const changed = await git(['diff-tree', '-r', '-z', '--name-only', '--no-renames', step.parent, tree]);
    const own = new Set(
      splitZ(
        await git([
          'diff-tree',
          '-r',
          '-z',
          '--name-only',
          '--no-renames',
          '--no-commit-id',
          '--root',
          step.commit,
        ]),
      ),
    );
    const elsewhere = splitZ(changed).filter((path) => !own.has(path));
    if (elsewhere.length > 0) {
      ctx.log.warn(
        { repo: ws.repo, branch: ws.branch, paths: elsewhere.slice(0, 20) },
        'replay moved changes',
      );
      throw moved(
        ws,
        `moved files Patchbay changed (its change would land in ${elsewhere.slice(0, 5).join(', ')})`,
      );
    }
    const [name = '', email = '', date = ''] = (
      await git(['log', '-1', '--format=%an%x00%ae%x00%aI', step.commit])
    ).split('\0');
    const message = await git(['log', '-1', '--format=%B', step.commit]);
    const identity = {
      GIT_AUTHOR_NAME: name,
      GIT_AUTHOR_EMAIL: email,
      GIT_AUTHOR_DATE: date.trim(),
      GIT_COMMITTER_NAME: ctx.bot.name,
      GIT_COMMITTER_EMAIL: ctx.bot.email,
    };
    return (await git(['commit-tree', tree, '-p', step.parent, '-F', '-'], identity, message)).trim();
  }

  async function mergeTree(git: Git, ws: TaskWorkspace, onto: string, commit: string): Promise<string> {
    try {
      const out = await git(['merge-tree', '--write-tree', '--no-messages', onto, commit]);
      return (out.split('\n')[0] ?? '').trim();
    } catch (err) {
      if (err instanceof GitError && err.exitCode === 1)
        throw moved(ws, 'their changes conflict with Patchbay’s');
      throw new PatchbayError('push_rejected', `could not replay Patchbay's commits onto ${ws.branch}`, {
        cause: err,
        permanent: true,
        hint: `${movedHint} (This needs git 2.38 or newer on the worker.)`,
      });
    }
  }

  return { rebaseOntoRemote };
}

function moved(ws: TaskWorkspace, why: string): PatchbayError {
  return new PatchbayError(
    'push_rejected',
    `someone pushed to ${ws.branch} while Patchbay worked and ${why}; nothing was pushed`,
    { permanent: true, hint: movedHint },
  );
}
