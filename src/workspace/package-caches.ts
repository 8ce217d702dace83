import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../lib/logger.js';
import { clearedMarker } from './clone-pool.js';
import { mirrorName } from './workspace-context.js';

/** `<root>/caches/<repo's dir name>/<tool>/`: one per repository, never shared between two. */
export const cacheDirOf = (root: string, repo: string) => join(root, 'caches', mirrorName(repo));

/** Makes the repository's cache with a directory per tool (a mount needs them to exist) and returns it. */
export async function ensureCacheDir(root: string, repo: string, tools: readonly string[]): Promise<string> {
  const dir = cacheDirOf(root, repo);
  for (const tool of tools) await mkdir(join(dir, tool), { recursive: true });
  return dir;
}

/** Marks a tool's directory as used now: trimming drops the least recently used first. */
export async function touchCacheTools(dir: string, tools: readonly string[]): Promise<void> {
  const now = new Date();
  for (const tool of tools) await utimes(join(dir, tool), now, now).catch(() => undefined);
}

/** Bytes under `path` (files' sizes; links not followed). */
async function sizeOf(path: string): Promise<number> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await sizeOf(join(path, name));
  return total;
}

/**
 * Removes a directory whatever its modes (go makes its module cache read-only). It is first renamed
 * to a hidden name like a half-built pool entry's: never claimed, never counted, swept if we die.
 */
async function removeTree(path: string): Promise<void> {
  const gone = join(dirname(path), `.tmp-${process.pid}-gone${randomBytes(3).toString('hex')}`);
  await rename(path, gone).catch(() => undefined);
  await rm(gone, { recursive: true, force: true }).catch(async () => {
    const { execFile } = await import('node:child_process');
    await new Promise((resolve) => execFile('chmod', ['-R', 'u+w', gone], () => resolve(undefined)));
    await rm(gone, { recursive: true, force: true });
  });
}

/**
 * Keeps all repositories' caches together under `maxBytes`: tool directories go whole, least recently
 * used first (a tool's cache cut file by file could leave cargo or go a half-extracted tree). Returns
 * what was dropped as `<repo dir>/<tool>`.
 */
export async function trimCaches(root: string, maxBytes: number, log: Logger): Promise<string[]> {
  const top = join(root, 'caches');
  const units: Array<{ path: string; bytes: number; used: number }> = [];
  for (const repo of await readdir(top).catch(() => [] as string[])) {
    if (repo.startsWith('.')) continue;
    for (const tool of await readdir(join(top, repo)).catch(() => [] as string[])) {
      const path = join(top, repo, tool);
      const st = await lstat(path).catch(() => undefined);
      if (!st?.isDirectory() || tool.startsWith('.')) continue;
      units.push({ path, bytes: await sizeOf(path), used: st.mtimeMs });
    }
  }
  let total = units.reduce((sum, u) => sum + u.bytes, 0);
  const dropped: string[] = [];
  for (const unit of units.sort((a, b) => a.used - b.used)) {
    if (total <= maxBytes) break;
    if (unit.bytes === 0) continue;
    await removeTree(unit.path);
    await mkdir(unit.path, { recursive: true });
    total -= unit.bytes;
    dropped.push(unit.path.slice(top.length + 1));
  }
  if (dropped.length) log.info({ dropped, bytes: total }, 'package caches trimmed');
  return dropped;
}

/**
 * `patchbay cache clear <owner/name>` on a worker's machine: the repository's pool entries and
 * package cache go, and a mark makes a refill that is building an entry meanwhile throw it away.
 */
export async function clearRepositoryData(root: string, repo: string): Promise<{ entries: number }> {
  const marker = clearedMarker(root, repo);
  await mkdir(dirname(marker), { recursive: true });
  await writeFile(marker, `${new Date().toISOString()}\n`);
  const poolDir = join(root, 'pool', mirrorName(repo));
  const names = (await readdir(poolDir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
  for (const name of names) await removeTree(join(poolDir, name));
  await removeTree(cacheDirOf(root, repo));
  return { entries: names.length };
}
