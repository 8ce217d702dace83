import { PatchbayError } from '../domain/errors.js';
import { cloneGitOptions } from './clone-git-env.js';
import type { TaskClones } from './task-clone.js';
import type { CloneState, CommitOptions, CommitResult, DiffSummary, TaskWorkspace } from './types.js';
import type { WorkspaceContext } from './workspace-context.js';

/** Workflows run with the repository's secrets on push, so a change to them needs the repo's consent. */
export function isWorkflowPath(path: string): boolean {
  return path === '.github' || path === '.github/workflows' || path.startsWith('.github/workflows/');
}

const PATCH_LIMIT = 512 * 1024;

/**
 * After its commits were replayed onto a person's, a clone's work tree lacks their changes: a commit
 * from it would undo them (or count their workflow change as Patchbay's), so the clone is done.
 */
export function afterReplay(ws: TaskWorkspace): PatchbayError {
  return new PatchbayError('internal', `the clone of ${ws.branch} was replayed onto a moved branch`, {
    permanent: true,
    hint: 'A clone takes one push that replays onto the remote branch; start a new task from its head.',
  });
}
const splitZ = (out: string) => out.split('\0').filter(Boolean);

/**
 * Commits and diffs computed by the host, from the clone's own state: its `tip` is the last commit the
 * host made (the host never trusts the clone's HEAD or branch ref, which the agent could have moved).
 */
export function createCommits(ctx: WorkspaceContext, clones: TaskClones) {
  const inClone = (ws: TaskWorkspace, vars: Record<string, string> = {}) =>
    cloneGitOptions(ws.dir, ctx.timeouts.localMs, { vars });
  const revParse = async (ws: TaskWorkspace, rev: string) =>
    (await ctx.git(['rev-parse', '--verify', rev], inClone(ws))).trim();

  async function changedFiles(ws: TaskWorkspace, from: string, to: string): Promise<string[]> {
    const out = await ctx.git(
      ['diff-tree', '-r', '-z', '--name-only', '--no-renames', from, to],
      inClone(ws),
    );
    return splitZ(out);
  }

  /**
   * One commit on top of the host's last one, whatever the agent did with git meanwhile (its own
   * commits are folded in). Built with commit-tree, which runs no hook.
   */
  async function commit(ws: CloneState, opts: CommitOptions): Promise<CommitResult | null> {
    if (ws.replayed) throw afterReplay(ws);
    await clones.restoreClone(ws);
    const parent = ws.tip ?? ws.startSha;
    await ctx.git(['add', '--all'], inClone(ws));
    const tree = (await ctx.git(['write-tree'], inClone(ws))).trim();
    if (tree === (await revParse(ws, `${parent}^{tree}`))) return null;
    const files = await changedFiles(ws, ws.startSha, tree);
    const workflows = files.filter(isWorkflowPath);
    if (workflows.length > 0 && !opts.allowWorkflows) {
      throw new PatchbayError('workflow_change_refused', `the change touches ${workflows.join(', ')}`, {
        hint: 'Changes to .github/workflows/ are pushed only when the repository entry allows them.',
      });
    }
    const author = opts.author ?? ctx.bot;
    const identity = {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: ctx.bot.name,
      GIT_COMMITTER_EMAIL: ctx.bot.email,
    };
    const sha = (
      await ctx.git(['commit-tree', tree, '-p', parent, '-F', '-'], {
        ...inClone(ws, identity),
        input: opts.message,
      })
    ).trim();
    await ctx.git(['update-ref', `refs/heads/${ws.branch}`, sha], inClone(ws));
    await ctx.git(['symbolic-ref', 'HEAD', `refs/heads/${ws.branch}`], inClone(ws));
    ws.tip = sha;
    ctx.log.info({ repo: ws.repo, branch: ws.branch, sha, files: files.length }, 'committed changes');
    return { sha, files };
  }

  /**
   * Changes from the merge base with the base branch (as the clone saw it) to the host's last commit:
   * what the pull request will show. A follow-up whose base branch is gone diffs from its start.
   */
  async function diffSummary(ws: CloneState): Promise<DiffSummary> {
    await clones.restoreClone(ws);
    const head = ws.tip ?? ws.startSha;
    const base = await revParse(ws, `refs/remotes/origin/${ws.base}^{commit}`).catch(() => ws.startSha);
    const range = `${base}...${head}`;
    const diff = ['diff', '--no-ext-diff', '--no-textconv', '--no-color', '--no-renames'];
    const files = splitZ(await ctx.git([...diff, '-z', '--name-only', range], inClone(ws)));
    const stat = await ctx.git([...diff, '--stat=120', range], inClone(ws));
    const full = await ctx.git([...diff, range], { ...inClone(ws), maxBuffer: 256 * 1024 * 1024 });
    const patch =
      full.length > PATCH_LIMIT
        ? `${full.slice(0, PATCH_LIMIT)}\n[patch cut: ${full.length - PATCH_LIMIT} more characters]\n`
        : full;
    return { files, stat, patch };
  }

  return { commit, diffSummary };
}
