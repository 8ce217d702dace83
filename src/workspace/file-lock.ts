import { randomBytes } from 'node:crypto';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { PatchbayError } from '../domain/errors.js';
import { currentOwner, isOwnerAlive, type ProcessOwner, readOwner } from './process-owner.js';

export interface FileLockOptions {
  /** Give up waiting after this long (a transient error: the worker retries the task later). */
  waitMs: number;
  /** A lock older than this is taken over even if its holder seems alive (a hung fetch). */
  staleMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Whether a lock file is abandoned: its holder is dead, it is older than `staleMs`, or it was left
 * empty by a process that died between creating and writing it.
 */
export async function isLockStale(path: string, staleMs: number): Promise<boolean> {
  const owner = await readOwner(path);
  if (owner) return Date.now() - owner.at > staleMs || !(await isOwnerAlive(owner, staleMs));
  try {
    return Date.now() - (await stat(path)).mtimeMs > 10_000;
  } catch {
    return false;
  }
}

async function tryCreate(path: string, owner: ProcessOwner): Promise<boolean> {
  try {
    const handle = await open(path, 'wx');
    await handle.writeFile(JSON.stringify(owner));
    await handle.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Removes an abandoned lock. rename() is atomic, so of several processes that judged the same lock
 * stale only one moves it away; if what it moved turns out to be a fresh lock someone took in between,
 * it is linked back (link() fails rather than overwrite a newer one).
 */
async function breakStaleLock(path: string, staleMs: number): Promise<void> {
  const aside = `${path}.stale-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  if (!(await isLockStale(aside, staleMs))) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/** Runs `fn` while holding an exclusive lock file, shared by every process on this machine. */
export async function withFileLock<T>(path: string, opts: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const owner = await currentOwner();
  const deadline = Date.now() + opts.waitMs;
  let delay = 25;
  while (!(await tryCreate(path, owner))) {
    if (await isLockStale(path, opts.staleMs)) {
      await breakStaleLock(path, opts.staleMs);
      continue;
    }
    if (Date.now() > deadline) {
      throw new PatchbayError('internal', 'timed out waiting for the mirror lock', { permanent: false });
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 500);
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}
