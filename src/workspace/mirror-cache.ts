import { randomBytes } from 'node:crypto';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cloneGitOptions } from './clone-git-env.js';
import { withFileLock } from './file-lock.js';
import { toRemoteError } from './remote-errors.js';
import type { Mirror } from './types.js';
import { mirrorName, type WorkspaceContext } from './workspace-context.js';

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

interface RemoteRefs {
  head: string | undefined;
  /** `sha refname` lines, sorted */
  heads: string;
}

function parseLsRemote(out: string): RemoteRefs {
  let head: string | undefined;
  const heads: string[] = [];
  for (const line of out.split('\n')) {
    const [left, ref] = line.split('\t');
    if (!left || !ref) continue;
    if (left.startsWith('ref: ') && ref === 'HEAD') head = left.slice(5);
    else if (ref.startsWith('refs/heads/')) heads.push(`${left} ${ref}`);
  }
  return { head, heads: heads.sort().join('\n') };
}

/** The bare mirrors under `<root>/mirrors`: one per repository, fetched under a per-repo lock. */
export function createMirrorCache(ctx: WorkspaceContext) {
  const dirOf = (repo: string) => join(ctx.mirrorsDir, mirrorName(repo));
  const lockOf = (dir: string) => join(ctx.locksDir, `${dir.split('/').pop()}.lock`);

  async function withMirrorLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    await mkdir(ctx.locksDir, { recursive: true });
    return withFileLock(lockOf(dir), ctx.lock, fn);
  }

  /**
   * First fetch: a bare clone into a temporary directory, renamed into place only when complete so
   * that a failed or killed clone never leaves a half mirror. gc.auto=0 (and no auto maintenance)
   * because task clones borrow the mirror's objects through alternates: pruning would corrupt them.
   */
  async function createMirror(repo: string, dir: string, signal?: AbortSignal): Promise<void> {
    await mkdir(ctx.mirrorsDir, { recursive: true });
    const tmp = join(ctx.mirrorsDir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    const config = [
      'gc.auto=0',
      'maintenance.auto=false',
      'core.hooksPath=/dev/null',
      'core.logAllRefUpdates=false',
    ];
    const args = ['clone', '--bare', '--no-tags', '--quiet', ...config.flatMap((c) => ['-c', c])];
    try {
      const env = await ctx.remoteEnv(repo);
      await ctx
        .git([...args, '--', ctx.remoteUrl(repo), tmp], { env, timeoutMs: ctx.timeouts.networkMs, signal })
        .catch((err) => Promise.reject(toRemoteError(err, repo)));
      // A bare clone maps heads onto heads but stores no refspec for later fetches.
      await ctx.git(['config', 'remote.origin.fetch', '+refs/heads/*:refs/heads/*'], { cwd: tmp });
      await rename(tmp, dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Later fetches: one ls-remote round trip, and a fetch only when a branch moved. HEAD is followed
   * too, since `git fetch` (before 2.48) never updates a bare repository's HEAD.
   */
  async function refreshMirror(repo: string, dir: string, signal?: AbortSignal): Promise<void> {
    const env = await ctx.remoteEnv(repo);
    const timeoutMs = ctx.timeouts.networkMs;
    const remote = parseLsRemote(
      await ctx
        .git(['ls-remote', '--symref', 'origin', 'HEAD', 'refs/heads/*'], {
          cwd: dir,
          env,
          timeoutMs,
          signal,
        })
        .catch((err) => Promise.reject(toRemoteError(err, repo))),
    );
    const local = parseLsRemote(
      await ctx.git(['for-each-ref', '--format=%(objectname)%09%(refname)', 'refs/heads/'], { cwd: dir }),
    );
    if (remote.heads !== local.heads) {
      await ctx
        .git(['fetch', '--prune', '--no-tags', '--quiet', 'origin'], { cwd: dir, env, timeoutMs, signal })
        .catch((err) => Promise.reject(toRemoteError(err, repo)));
    }
    const head = (await ctx.git(['symbolic-ref', 'HEAD'], { cwd: dir })).trim();
    if (remote.head && remote.head !== head)
      await ctx.git(['symbolic-ref', 'HEAD', remote.head], { cwd: dir });
  }

  async function syncMirror(repo: string, signal?: AbortSignal): Promise<Mirror> {
    const dir = dirOf(repo);
    const started = Date.now();
    await withMirrorLock(dir, async () => {
      signal?.throwIfAborted();
      if (await exists(join(dir, 'HEAD'))) await refreshMirror(repo, dir, signal);
      else await createMirror(repo, dir, signal);
    });
    ctx.log.info({ repo, ms: Date.now() - started }, 'mirror synced');
    return { repo, dir };
  }

  /** The mirror as it is, fetched only when there is none yet. */
  async function ensureMirror(repo: string): Promise<Mirror> {
    const dir = dirOf(repo);
    return (await exists(join(dir, 'HEAD'))) ? { repo, dir } : syncMirror(repo);
  }

  async function defaultBranch(mirror: Mirror): Promise<string> {
    return (await ctx.git(['symbolic-ref', '--short', 'HEAD'], { cwd: mirror.dir })).trim();
  }

  /**
   * Records a pushed commit in the mirror. Its objects exist only in the task clone, which is about
   * to be deleted, so they are pushed into the mirror rather than just pointing a ref at them. The
   * clone is the agent's to write: git runs there as every host command in it does (cloneGitOptions).
   */
  async function publish(cloneDir: string, mirrorDir: string, sha: string, branch: string): Promise<void> {
    await withMirrorLock(mirrorDir, () =>
      ctx.git(
        ['push', '--quiet', '--no-verify', mirrorDir, `+${sha}:refs/heads/${branch}`],
        cloneGitOptions(cloneDir, ctx.timeouts.localMs),
      ),
    );
  }

  /**
   * Fetches one ref outside `refs/heads/` (a task's kept work) from the remote into the mirror, where
   * task clones find its objects. Rejects when the remote has no such ref.
   */
  async function fetchRef(repo: string, ref: string, signal?: AbortSignal): Promise<void> {
    const dir = dirOf(repo);
    const env = await ctx.remoteEnv(repo);
    await withMirrorLock(dir, () =>
      ctx.git(['fetch', '--no-tags', '--quiet', ctx.remoteUrl(repo), `+${ref}:${ref}`], {
        cwd: dir,
        env,
        timeoutMs: ctx.timeouts.networkMs,
        signal,
      }),
    );
  }

  /** Deletes a ref of the mirror by its full name; an absent one is fine. */
  async function dropAnyRef(mirrorDir: string, ref: string): Promise<void> {
    await withMirrorLock(mirrorDir, () => ctx.git(['update-ref', '-d', ref], { cwd: mirrorDir }));
  }

  async function dropRef(mirrorDir: string, branch: string): Promise<void> {
    await withMirrorLock(mirrorDir, () =>
      ctx.git(['update-ref', '-d', `refs/heads/${branch}`], { cwd: mirrorDir }),
    );
  }

  return { dirOf, syncMirror, ensureMirror, defaultBranch, publish, dropRef, fetchRef, dropAnyRef };
}

export type MirrorCache = ReturnType<typeof createMirrorCache>;
