import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PatchbayError } from '../domain/errors.js';
import { adoptPoolEntry, originUrl, writeConfig } from './adopt-pool-entry.js';
import { checkCloneConfig } from './check-clone-config.js';
import { cleanPoolEntry } from './clean-pool-entry.js';
import { cloneGitOptions } from './clone-git-env.js';
import type { ClonePool } from './clone-pool.js';
import { cloneShared } from './clone-shared.js';
import type { MirrorCache } from './mirror-cache.js';
import { currentOwner } from './process-owner.js';
import { sanitizeGitDir } from './sanitize-git-dir.js';
import type { PreparedFrom, TaskWorkspace } from './types.js';
import type { WorkspaceContext } from './workspace-context.js';

/** Per task: `tasks/<id>/owner.json` (who runs it), `config` (the clone's own config), `repo/` (the clone). */
export const OWNER_FILE = 'owner.json';
const CONFIG_SNAPSHOT = 'config';

export interface CloneRequest {
  repo: string;
  taskId: string;
  branch: string;
  base: string;
}

async function writeReplacing(path: string, content: string): Promise<void> {
  // rename() replaces a symlink the agent may have put there instead of writing through it.
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}

export function createTaskClones(ctx: WorkspaceContext, mirrors: MirrorCache, pool: ClonePool) {
  async function checkBranchName(branch: string): Promise<void> {
    await ctx.git(['check-ref-format', `refs/heads/${branch}`]).catch(() => {
      throw new PatchbayError('invalid_request', `not a valid branch name: ${branch}`);
    });
  }

  async function resolveRef(mirrorDir: string, branch: string): Promise<string | undefined> {
    const out = await ctx
      .git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`], { cwd: mirrorDir })
      .catch(() => '');
    return out.trim() || undefined;
  }

  /** A base given as a commit (`patchbay eval` pins one): hex only, so it never reads as an option or a range. */
  async function resolveCommit(mirrorDir: string, base: string): Promise<string | undefined> {
    if (!/^[0-9a-f]{7,64}$/i.test(base)) return undefined;
    const out = await ctx
      .git(['rev-parse', '--verify', '--quiet', `${base}^{commit}`], { cwd: mirrorDir })
      .catch(() => '');
    return out.trim() || undefined;
  }

  async function resolveStart(req: CloneRequest, mirrorDir: string) {
    const tip = await resolveRef(mirrorDir, req.branch);
    if (tip) return { sha: tip, existed: true };
    const base = (await resolveRef(mirrorDir, req.base)) ?? (await resolveCommit(mirrorDir, req.base));
    if (base) return { sha: base, existed: false };
    throw new PatchbayError('base_not_found', `branch ${req.base} does not exist in ${req.repo}`, {
      hint: 'Name an existing base branch, or leave it out to use the default branch.',
    });
  }

  async function cloneFresh(dir: string, req: CloneRequest, mirrorDir: string, sha: string): Promise<void> {
    await cloneShared(ctx, mirrorDir, dir);
    await writeConfig(ctx, dir, [originUrl(ctx, req.repo)]);
    await ctx.git(['checkout', '--quiet', '-B', req.branch, sha], cloneGitOptions(dir, ctx.timeouts.localMs));
  }

  /**
   * A warm pool entry of the task's setup key when one can be had and made right (a prepared one is
   * cleaned before any git runs in it), else a clone from scratch.
   */
  async function populate(
    dir: string,
    req: CloneRequest,
    mirrorDir: string,
    sha: string,
  ): Promise<{ pooled: boolean; prepared?: PreparedFrom }> {
    const key = await pool.keyAt(req.repo, mirrorDir, sha);
    const entry = await pool.claim(req.repo, req.base, dir, { key, sha });
    if (entry) {
      try {
        if (entry.prepared) await cleanPoolEntry(ctx, { dir, repo: req.repo, mirrorDir, sha: entry.sha });
        await adoptPoolEntry(ctx, entry, req, mirrorDir, sha);
        pool.stats.poolHits += 1;
        return { pooled: true, ...(entry.prepared ? { prepared: { key, sha: entry.sha } } : {}) };
      } catch (err) {
        // e.g. an entry from before the mirror was re-created: its commit may be gone.
        ctx.log.warn({ repo: req.repo, err: (err as Error).message.slice(0, 500) }, 'pool entry unusable');
        await rm(dir, { recursive: true, force: true });
      }
    }
    pool.stats.poolMisses += 1;
    await cloneFresh(dir, req, mirrorDir, sha);
    return { pooled: false };
  }

  /**
   * The task's clone on its branch: a warm pool entry when one is ready, else a `--shared` clone and a
   * full checkout. Either way a refill of the pool starts in the background once the clone is made, so
   * that it does not compete with this one for the CPU.
   */
  async function createClone(req: CloneRequest): Promise<TaskWorkspace> {
    await checkBranchName(req.branch);
    const mirror = await mirrors.ensureMirror(req.repo);
    const start = await resolveStart(req, mirror.dir);
    const safeId = req.taskId.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 60);
    const taskDir = join(ctx.tasksDir, `${safeId}-${randomBytes(3).toString('hex')}`);
    const dir = join(taskDir, 'repo');
    await mkdir(taskDir, { recursive: true });
    let got: { pooled: boolean; prepared?: PreparedFrom };
    try {
      // The owner file comes first: a claimed entry must never sit in a task dir that sweeps as orphaned.
      await writeFile(join(taskDir, OWNER_FILE), JSON.stringify(await currentOwner()));
      got = await populate(dir, req, mirror.dir, start.sha);
      await writeFile(join(taskDir, CONFIG_SNAPSHOT), await readFile(join(dir, '.git', 'config'), 'utf8'));
    } catch (err) {
      await rm(taskDir, { recursive: true, force: true });
      throw err;
    }
    pool.refill(req.repo, mirror.dir);
    ctx.log.info(
      {
        repo: req.repo,
        branch: req.branch,
        existed: start.existed,
        pooled: got.pooled,
        prepared: !!got.prepared,
      },
      'task clone created',
    );
    return {
      repo: req.repo,
      dir,
      mirrorDir: mirror.dir,
      branch: req.branch,
      base: req.base,
      startSha: start.sha,
      branchExisted: start.existed,
      ...(got.prepared ? { prepared: got.prepared } : {}),
    };
  }

  /**
   * Makes the clone safe for the host's git again, before any host git command in a directory the
   * agent could write to: removes the indirections it could have planted in `.git` (commondir, a
   * `gitdir:` file, symlinks, attributes; a swapped `.git` is refused), puts back the config and
   * alternates as we wrote them (a filter, fsmonitor, include.path or insteadOf it added would
   * otherwise run or redirect on the host), points HEAD at the task branch, and checks the config git
   * will then read.
   */
  async function restoreClone(ws: TaskWorkspace): Promise<void> {
    const gitDir = join(ws.dir, '.git');
    const { strangeHead } = await sanitizeGitDir(gitDir, ctx.log.child({ repo: ws.repo, branch: ws.branch }));
    await writeReplacing(
      join(gitDir, 'config'),
      await readFile(join(dirname(ws.dir), CONFIG_SNAPSHOT), 'utf8'),
    );
    await writeReplacing(join(gitDir, 'objects', 'info', 'alternates'), `${join(ws.mirrorDir, 'objects')}\n`);
    // The host never reads the branch through HEAD (it keeps its own tips), but git resolves HEAD on
    // start-up, so one pointing outside refs/ is put back; an agent's own checkout is fine as it is.
    if (strangeHead) await writeReplacing(join(gitDir, 'HEAD'), `ref: refs/heads/${ws.branch}\n`);
    await checkCloneConfig(ctx, ws.dir);
  }

  const dispose = (ws: TaskWorkspace) => removeTaskDir(ctx.tasksDir, ws.dir);

  return { createClone, restoreClone, dispose };
}

export type TaskClones = ReturnType<typeof createTaskClones>;

/** Removes the task directory of a clone (or the task directory itself); refuses any path outside `tasksDir`. */
export async function removeTaskDir(tasksRoot: string, dir: string): Promise<void> {
  const tasksDir = resolve(tasksRoot);
  const at = resolve(dir);
  const taskDir = dirname(at) === tasksDir ? at : dirname(at);
  if (dirname(taskDir) !== tasksDir) {
    throw new PatchbayError('internal', 'refusing to remove a directory outside the task root', {
      permanent: true,
    });
  }
  await rm(taskDir, { recursive: true, force: true, maxRetries: 3 });
}
