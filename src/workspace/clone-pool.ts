import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cloneIdentity, identityTag, originUrl, writeConfig } from './adopt-pool-entry.js';
import { cloneGitOptions } from './clone-git-env.js';
import { cloneShared } from './clone-shared.js';
import type { WorkspaceStats } from './types.js';
import { mirrorName, type WorkspaceContext } from './workspace-context.js';

export interface ClaimedEntry {
  dir: string;
  /** identityTag of the settings the entry was made with */
  tag: string;
}

/** Entries being built are named `.tmp-<pid>-<rand>` and never claimed; sweepOrphans removes dead ones. */
export const POOL_TEMP_PREFIX = '.tmp-';
/** Refills compete with running agents for the CPU. */
const REFILL_NICENESS = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const describe = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 500);

/**
 * Warm clones per repository under `<root>/pool/<mirror's dir name>/`: `--shared` from the mirror and
 * fully checked out (detached), so that a task pays for the files that differ from the entry's commit
 * only, not for writing the whole tree. An entry is complete the moment it appears under its final
 * name (it is built under a temporary one and renamed), and a task takes it with one rename() into its
 * own directory: atomic, so of several claimants in any number of processes exactly one gets it.
 *
 * Entries belong to the machine, not to a process: they stay valid across restarts, since a claim
 * rewrites what could differ (remote URL and identity when the entry's tag says they differ, and the
 * remote-tracking refs). No agent ever sees an entry before it is claimed (the sandbox mounts the task
 * clone and the mirror only), so an entry is trusted to be pristine.
 *
 * Refills never take the mirror lock. Building an entry only reads the mirror, as a task clone does;
 * a fetch or push into the mirror meanwhile writes objects before the refs that name them and swaps
 * refs atomically, and the mirror never drops objects (gc.auto=0), so the entry is consistent, at
 * worst at the previous tip, which a claim's checkout brings forward.
 */
export function createClonePool(ctx: WorkspaceContext, opts: { size: number }) {
  const size = Math.max(0, Math.floor(opts.size));
  const stats: WorkspaceStats = { poolHits: 0, poolMisses: 0, poolEntriesBuilt: 0, poolRefillErrors: 0 };
  const lastBase = new Map<string, string>();
  /** the running refill per repository: at most one per repository in this process */
  const refills = new Map<string, Promise<void>>();
  /** repositories whose refill was asked for again while one ran */
  const again = new Set<string>();

  const dirOf = (repo: string) => join(ctx.poolDir, mirrorName(repo));

  /** Complete entries, newest first (names start with a zero-padded timestamp): the smallest delta. */
  async function readyEntries(repo: string): Promise<string[]> {
    const names = await readdir(dirOf(repo)).catch(() => [] as string[]);
    return names
      .filter((n) => !n.startsWith('.'))
      .sort()
      .reverse();
  }

  /** Entries are named `<ms timestamp, padded>-<identity tag>-<rand>`. */
  async function tryClaim(repo: string, target: string): Promise<ClaimedEntry | undefined> {
    for (const name of await readyEntries(repo)) {
      try {
        await rename(join(dirOf(repo), name), target);
        return { dir: target, tag: name.split('-')[1] ?? '' };
      } catch (err) {
        // ENOENT: another task took it first. Anything else: leave it, a fresh clone still works.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
          ctx.log.warn({ repo, err: describe(err) }, 'could not claim pool entry');
      }
    }
    return undefined;
  }

  /**
   * Moves a warm entry of `repo` to `target` (which must not exist) and returns it, if there was one.
   * An entry still being built is not waited for: with the racy-git pause it would take longer than a
   * clone from scratch.
   */
  async function claim(repo: string, base: string, target: string): Promise<ClaimedEntry | undefined> {
    if (size === 0) return undefined;
    lastBase.set(repo, base);
    return tryClaim(repo, target);
  }

  /** The tip of the base the last task asked for, else of the default branch. */
  async function targetSha(repo: string, mirrorDir: string): Promise<string> {
    const revParse = (rev: string) =>
      ctx
        .git(['rev-parse', '--verify', '--quiet', rev], { cwd: mirrorDir })
        .then((out) => out.trim())
        .catch(() => '');
    const base = lastBase.get(repo);
    return (base && (await revParse(`refs/heads/${base}^{commit}`))) || revParse('HEAD^{commit}');
  }

  /**
   * Files written in the same second as the index are "racily clean" to git, which then re-reads them
   * all on the next checkout (200 ms for 10,000 files), and a checkout does not cure it. Rewriting the
   * index once that second is over does: the claim's checkout then trusts every stat.
   * https://git-scm.com/docs/racy-git
   */
  async function settleIndex(dir: string): Promise<void> {
    await sleep(1050 - (Date.now() % 1000));
    await ctx.git(['update-index', '-q', '--refresh'], {
      ...cloneGitOptions(dir, ctx.timeouts.localMs),
      niceness: REFILL_NICENESS,
    });
  }

  async function buildEntry(repo: string, mirrorDir: string): Promise<void> {
    const dir = dirOf(repo);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `${POOL_TEMP_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const sha = await targetSha(repo, mirrorDir);
      if (!sha) throw new Error('the mirror has no commit to check out');
      const identity = cloneIdentity(ctx, repo);
      const local = { ...cloneGitOptions(tmp, ctx.timeouts.localMs), niceness: REFILL_NICENESS };
      await cloneShared(ctx, mirrorDir, tmp, { niceness: REFILL_NICENESS });
      await writeConfig(ctx, tmp, [originUrl(ctx, repo)], { niceness: REFILL_NICENESS });
      await ctx.git(['checkout', '--quiet', '--detach', sha], local);
      await settleIndex(tmp);
      const tag = identityTag(identity);
      const name = `${String(Date.now()).padStart(15, '0')}-${tag}-${randomBytes(3).toString('hex')}`;
      await rename(tmp, join(dir, name));
      stats.poolEntriesBuilt += 1;
      ctx.log.info({ repo, sha }, 'pool entry ready');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Builds entries until `size` are ready. Several processes may each add one past it; a claim uses it. */
  async function fill(repo: string, mirrorDir: string): Promise<void> {
    while ((await readyEntries(repo)).length < size) await buildEntry(repo, mirrorDir);
  }

  /** Starts filling the pool of `repo` in the background; never throws, errors are logged. */
  function refill(repo: string, mirrorDir: string): void {
    if (size === 0) return;
    if (refills.has(repo)) {
      again.add(repo);
      return;
    }
    again.delete(repo);
    const run = fill(repo, mirrorDir)
      .catch((err: unknown) => {
        stats.poolRefillErrors += 1;
        ctx.log.warn({ repo, err: describe(err) }, 'pool refill failed');
      })
      .finally(() => {
        refills.delete(repo);
        if (again.has(repo)) refill(repo, mirrorDir);
      });
    refills.set(repo, run);
  }

  /** Resolves once no refill of this object runs (tests, benchmarks, a graceful shutdown). */
  async function idle(): Promise<void> {
    while (refills.size > 0) await Promise.all([...refills.values()]);
  }

  return { claim, refill, idle, stats };
}

export type ClonePool = ReturnType<typeof createClonePool>;
