import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { cloneIdentity, identityTag, originUrl, writeConfig } from './adopt-pool-entry.js';
import { cleanPoolEntry } from './clean-pool-entry.js';
import { cloneGitOptions } from './clone-git-env.js';
import { cloneShared } from './clone-shared.js';
import { formatPoolEntryName, PLAIN_KEY, type PoolEntryName, parsePoolEntryName } from './pool-entry-name.js';
import { computeSetupKey } from './setup-key.js';
import type { EntryPreparer, WorkspaceStats } from './types.js';
import { mirrorName, type WorkspaceContext } from './workspace-context.js';

export interface ClaimedEntry {
  dir: string;
  /** identityTag of the settings the entry was made with */
  tag: string;
  /** The commit the entry is at; with `prepared`, the commit its setup ran at. */
  sha: string;
  /** Setup (or maintenance) ran in it: it must be cleaned before the host runs git in it. */
  prepared: boolean;
}

/** Entries being built are named `.tmp-<pid>-<rand>` and never claimed; sweepOrphans removes dead ones. */
export const POOL_TEMP_PREFIX = '.tmp-';
/** Refills compete with running agents for the CPU. */
const REFILL_NICENESS = 10;

/** Refills build nothing while the data directory's file system has less than this free: tasks come first. */
const MIN_FREE_BYTES = 2 * 1024 ** 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const describe = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 500);

/** Where `patchbay cache clear` leaves its mark: a refill that began before it keeps nothing it built. */
export const clearedMarker = (root: string, repo: string) => join(root, 'cleared', mirrorName(repo));

/**
 * Warm clones per repository under `<root>/pool/<mirror's dir name>/`: `--shared` from the mirror and
 * fully checked out (detached) at the base's tip, and, for a repository with setup, *prepared*: its
 * setup already run in the sandbox (see EntryPreparer). An entry is complete the moment it appears
 * under its final name, which carries its setup key and commit (pool-entry-name.ts), and a task takes
 * it with one rename() into its own directory: atomic, so of several claimants in any number of
 * processes exactly one gets it. A task takes only an entry of its own key (the content of its setup
 * inputs, the commands, the tools): an entry is never reused, nothing of a task goes back to the pool.
 *
 * A refill brings entries of the current key to a moved base (checkout, then maintenance), drops
 * entries of another key, and builds new ones up to the repository's size, one at a time, at low
 * priority; no task ever waits for it. Setup ran with a writable `.git`, so an entry is cleaned
 * (cleanPoolEntry) before the host runs git in it, here and again when a task claims it.
 *
 * Refills never take the mirror lock. Building an entry only reads the mirror, as a task clone does;
 * a fetch or push into the mirror meanwhile writes objects before the refs that name them and swaps
 * refs atomically, and the mirror never drops objects (gc.auto=0), so the entry is consistent.
 */
export function createClonePool(ctx: WorkspaceContext, opts: { size: number; preparer?: EntryPreparer }) {
  const defaultSize = Math.max(0, Math.floor(opts.size));
  const preparer = opts.preparer;
  const sizeOf = (repo: string) => Math.max(0, Math.floor(preparer?.size(repo) ?? defaultSize));
  const stats: WorkspaceStats = {
    poolHits: 0,
    poolMisses: 0,
    poolEntriesBuilt: 0,
    poolRefillErrors: 0,
    poolEntriesPrepared: 0,
    poolEntriesRefreshed: 0,
  };
  const lastBase = new Map<string, string>();
  /** the running refill per repository: at most one per repository in this process */
  const refills = new Map<string, Promise<void>>();
  /** repositories whose refill was asked for again while one ran */
  const again = new Set<string>();
  /** `<repo> <key>` whose setup failed in this process: not tried again until the key changes */
  const failed = new Set<string>();

  const dirOf = (repo: string) => join(ctx.poolDir, mirrorName(repo));
  const tempIn = (repo: string) =>
    join(dirOf(repo), `${POOL_TEMP_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);

  /** The setup key of `repo` at `sha`: PLAIN_KEY when it has nothing to prepare. */
  async function keyAt(repo: string, mirrorDir: string, sha: string): Promise<string> {
    const recipe = preparer?.recipe(repo);
    return recipe ? computeSetupKey(ctx, mirrorDir, sha, recipe) : PLAIN_KEY;
  }

  /** Complete entries, newest first (names start with a zero-padded timestamp). */
  async function readyEntries(repo: string): Promise<PoolEntryName[]> {
    const names = await readdir(dirOf(repo)).catch(() => [] as string[]);
    return names
      .filter((n) => !n.startsWith('.'))
      .sort()
      .reverse()
      .map((n) => parsePoolEntryName(n) ?? { name: n, tag: '', key: '', sha: '' });
  }

  /**
   * Moves a ready entry of `repo` with setup key `key` to `target` (which must not exist) and returns
   * it, if there is one: one at `sha` first, else the newest. An entry still being built is not waited for.
   */
  async function claim(
    repo: string,
    base: string,
    target: string,
    want: { key: string; sha: string },
  ): Promise<ClaimedEntry | undefined> {
    if (sizeOf(repo) === 0) return undefined;
    lastBase.set(repo, base);
    const fitting = (await readyEntries(repo)).filter((e) => e.key === want.key);
    fitting.sort((a, b) => Number(b.sha === want.sha) - Number(a.sha === want.sha));
    for (const entry of fitting) {
      try {
        await rename(join(dirOf(repo), entry.name), target);
        return { dir: target, tag: entry.tag, sha: entry.sha, prepared: entry.key !== PLAIN_KEY };
      } catch (err) {
        // ENOENT: another task took it first. Anything else: leave it, a fresh clone still works.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
          ctx.log.warn({ repo, err: describe(err) }, 'could not claim pool entry');
      }
    }
    return undefined;
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

  /** True when `patchbay cache clear` ran for `repo` since `since` (ms): what was built meanwhile goes. */
  async function clearedSince(repo: string, since: number): Promise<boolean> {
    const st = await stat(clearedMarker(ctx.root, repo)).catch(() => undefined);
    return st !== undefined && st.mtimeMs >= since;
  }

  /** Puts a finished entry in place under its name, unless the repository was cleared meanwhile (false). */
  async function publish(
    repo: string,
    tmp: string,
    key: string,
    sha: string,
    since: number,
  ): Promise<boolean> {
    if (await clearedSince(repo, since)) return false;
    const tag = identityTag(cloneIdentity(ctx, repo));
    const name = formatPoolEntryName({ tag, key, sha }, Date.now(), randomBytes(3).toString('hex'));
    await rename(tmp, join(dirOf(repo), name));
    return true;
  }

  /** Builds one entry; false when `patchbay cache clear` ran meanwhile and it was thrown away. */
  async function buildEntry(repo: string, mirrorDir: string, key: string, sha: string): Promise<boolean> {
    await mkdir(dirOf(repo), { recursive: true });
    const since = Date.now();
    const tmp = tempIn(repo);
    try {
      const local = { ...cloneGitOptions(tmp, ctx.timeouts.localMs), niceness: REFILL_NICENESS };
      await cloneShared(ctx, mirrorDir, tmp, { niceness: REFILL_NICENESS });
      await writeConfig(ctx, tmp, [originUrl(ctx, repo)], { niceness: REFILL_NICENESS });
      await ctx.git(['checkout', '--quiet', '--detach', sha], local);
      if (key !== PLAIN_KEY && preparer) {
        await preparer.prepare({ repo, dir: tmp, mirrorDir, kind: 'full' });
        await cleanPoolEntry(ctx, { dir: tmp, repo, mirrorDir, sha });
        stats.poolEntriesPrepared += 1;
      }
      await settleIndex(tmp);
      if (!(await publish(repo, tmp, key, sha, since))) return false;
      stats.poolEntriesBuilt += 1;
      ctx.log.info({ repo, sha, prepared: key !== PLAIN_KEY }, 'pool entry ready');
      return true;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * A prepared entry of the current key at an older commit: taken out of the pool, cleaned, checked
   * out at the new tip, its maintenance run, cleaned again and put back. Cheaper than setup anew.
   */
  async function refreshEntry(repo: string, mirrorDir: string, entry: PoolEntryName, sha: string) {
    const since = Date.now();
    const tmp = tempIn(repo);
    try {
      await rename(join(dirOf(repo), entry.name), tmp);
    } catch {
      return; // claimed meanwhile
    }
    try {
      await cleanPoolEntry(ctx, { dir: tmp, repo, mirrorDir, sha: entry.sha });
      const local = { ...cloneGitOptions(tmp, ctx.timeouts.localMs), niceness: REFILL_NICENESS };
      await ctx.git(['checkout', '--quiet', '--force', '--detach', sha], local);
      await preparer?.prepare({ repo, dir: tmp, mirrorDir, kind: 'maintenance' });
      await cleanPoolEntry(ctx, { dir: tmp, repo, mirrorDir, sha });
      await settleIndex(tmp);
      await publish(repo, tmp, entry.key, sha, since);
      stats.poolEntriesRefreshed += 1;
      ctx.log.info({ repo, sha }, 'pool entry brought to the new base');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Entries of another key (or of an older format) go; prepared ones at an older commit are refreshed. */
  async function tidy(repo: string, mirrorDir: string, key: string, sha: string): Promise<void> {
    for (const entry of await readyEntries(repo)) {
      if (entry.key !== key) {
        const tmp = tempIn(repo);
        await rename(join(dirOf(repo), entry.name), tmp).then(
          () => rm(tmp, { recursive: true, force: true }),
          () => undefined,
        );
      } else if (entry.sha !== sha && key !== PLAIN_KEY) {
        await refreshEntry(repo, mirrorDir, entry, sha);
      }
    }
  }

  async function diskLow(): Promise<boolean> {
    const st = await statfs(ctx.root).catch(() => undefined);
    return st !== undefined && st.bavail * st.bsize < MIN_FREE_BYTES;
  }

  /** Builds entries until the repository's size are ready. Several processes may each add one past it. */
  async function fill(repo: string, mirrorDir: string): Promise<void> {
    const sha = await targetSha(repo, mirrorDir);
    if (!sha) throw new Error('the mirror has no commit to check out');
    const key = await keyAt(repo, mirrorDir, sha);
    await tidy(repo, mirrorDir, key, sha);
    if (failed.has(`${repo} ${key}`)) return;
    try {
      // A clear meanwhile ends this refill: the next task's starts afresh.
      while ((await readyEntries(repo)).length < sizeOf(repo)) {
        if (await diskLow()) {
          ctx.log.warn({ repo, minFreeBytes: MIN_FREE_BYTES }, 'pool refill skipped: disk nearly full');
          return;
        }
        if (!(await buildEntry(repo, mirrorDir, key, sha))) return;
      }
    } catch (err) {
      // A setup that fails would fail again on every refill: tasks run it themselves meanwhile.
      if (key !== PLAIN_KEY) failed.add(`${repo} ${key}`);
      throw err;
    }
  }

  /** Starts filling the pool of `repo` in the background; never throws, errors are logged. */
  function refill(repo: string, mirrorDir: string): void {
    if (sizeOf(repo) === 0) return;
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

  return { claim, keyAt, refill, idle, stats };
}

export type ClonePool = ReturnType<typeof createClonePool>;
