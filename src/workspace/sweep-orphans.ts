import { readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { POOL_TEMP_PREFIX } from './clone-pool.js';
import { isLockStale } from './file-lock.js';
import { isOwnerAlive, readOwner } from './process-owner.js';
import { OWNER_FILE } from './task-clone.js';
import type { WorkspaceContext } from './workspace-context.js';

const listDir = (dir: string) => readdir(dir).catch(() => [] as string[]);

/** A task dir without an owner file is one whose creator died at once; give a live creator a minute. */
async function isTaskOrphaned(ctx: WorkspaceContext, taskDir: string): Promise<boolean> {
  const owner = await readOwner(join(taskDir, OWNER_FILE));
  if (owner) return !(await isOwnerAlive(owner, ctx.foreignMaxAgeMs));
  const st = await stat(taskDir).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs > 60_000;
}

/**
 * A half mirror left by a cold clone, or a half-built pool entry (`.tmp-<pid>-<rand>`), whose process
 * is gone or that is very old.
 */
async function isTempOrphaned(ctx: WorkspaceContext, path: string): Promise<boolean> {
  const pid = Number(path.split('/').pop()?.split('-')[1]);
  const st = await stat(path).catch(() => undefined);
  if (!st) return false;
  if (Date.now() - st.mtimeMs > ctx.lock.staleMs) return true;
  return !Number.isInteger(pid) || !(await isOwnerAlive({ pid, host: hostname(), at: Date.now() }, 0));
}

/**
 * Half-built pool entries of dead processes, and the whole pool of a repository whose mirror is gone
 * (its entries borrow objects that no longer exist). Complete entries stay: any process may claim them.
 */
async function sweepPool(ctx: WorkspaceContext): Promise<number> {
  let removed = 0;
  for (const repoDir of await listDir(ctx.poolDir)) {
    const poolDir = join(ctx.poolDir, repoDir);
    if (!(await stat(join(ctx.mirrorsDir, repoDir, 'HEAD')).catch(() => undefined))) {
      await rm(poolDir, { recursive: true, force: true });
      removed += 1;
      continue;
    }
    for (const name of (await listDir(poolDir)).filter((n) => n.startsWith(POOL_TEMP_PREFIX))) {
      if (!(await isTempOrphaned(ctx, join(poolDir, name)))) continue;
      await rm(join(poolDir, name), { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}

/**
 * Removes task clones whose process is dead, stale mirror locks, half-made mirrors and pool entries.
 * Clones of live processes (this one included) stay: several workers may share one machine.
 */
export async function sweepOrphans(ctx: WorkspaceContext): Promise<number> {
  let removed = 0;
  for (const name of await listDir(ctx.tasksDir)) {
    const taskDir = join(ctx.tasksDir, name);
    if (!(await isTaskOrphaned(ctx, taskDir))) continue;
    await rm(taskDir, { recursive: true, force: true });
    removed += 1;
  }
  for (const name of await listDir(ctx.locksDir)) {
    const path = join(ctx.locksDir, name);
    if (!(await isLockStale(path, ctx.lock.staleMs))) continue;
    await rm(path, { force: true });
    removed += 1;
  }
  for (const name of (await listDir(ctx.mirrorsDir)).filter((n) => n.startsWith('.tmp-'))) {
    if (!(await isTempOrphaned(ctx, join(ctx.mirrorsDir, name)))) continue;
    await rm(join(ctx.mirrorsDir, name), { recursive: true, force: true });
    removed += 1;
  }
  removed += await sweepPool(ctx);
  if (removed > 0) ctx.log.info({ removed }, 'removed orphaned workspaces');
  return removed;
}
