import { lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PatchbayError } from '../domain/errors.js';
import type { Logger } from '../lib/logger.js';

/**
 * Files by which git leaves the clone's own directory or lets it run a program, none of which
 * Patchbay ever writes: `commondir` and `gitdir` move the repository (and the config read) elsewhere,
 * `config.worktree` and `worktrees/` add config, `info/attributes` names filter drivers,
 * `info/grafts` and `shallow` rewrite history.
 */
const PLANTED = [
  'commondir',
  'gitdir',
  'config.worktree',
  'worktrees',
  'info/attributes',
  'info/grafts',
  'shallow',
];

/**
 * Caches and logs git rebuilds or does without, each of which the agent may have written: a reflog
 * symlink would make the host append to a file outside the clone, a forged commit-graph or
 * multi-pack-index would be believed. An interrupted command of the agent leaves `index.lock`.
 */
const DISPOSABLE = [
  'logs',
  'index.lock',
  'objects/info/commit-graph',
  'objects/info/commit-graphs',
  'objects/pack/multi-pack-index',
];

/** Must be real directories: a symlink or a file here means the repository itself was swapped. */
const STRUCTURE = ['', 'objects', 'refs'];

export const tampered = (what: string) =>
  new PatchbayError('internal', `the task clone was tampered with (${what})`, {
    permanent: true,
    hint: 'The agent replaced parts of the repository in .git; nothing was committed or pushed.',
  });

const lstatOf = (path: string) => lstat(path).catch(() => undefined);

async function requireStructure(gitDir: string): Promise<void> {
  for (const name of STRUCTURE) {
    const st = await lstatOf(join(gitDir, name));
    if (!st?.isDirectory())
      throw tampered(name ? `.git/${name} is not a directory` : '.git is not a directory');
  }
}

/** Removes `paths` under gitDir that exist (or dangle); returns the ones that did. */
async function removeExisting(gitDir: string, paths: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) {
    if (!(await lstatOf(join(gitDir, path)))) continue;
    await rm(join(gitDir, path), { recursive: true, force: true });
    found.push(path);
  }
  return found;
}

/**
 * Symlinks anywhere in `.git` (git makes none): through one in `objects/` or `refs/` a host
 * `git add` or `update-ref` would write outside the clone, through `HEAD`, `index` or `packed-refs`
 * it would read a file the agent picked. The worktree's own symlinks are content and stay.
 */
async function removeSymlinks(gitDir: string): Promise<string[]> {
  const entries = await readdir(gitDir, { recursive: true, withFileTypes: true });
  const links = entries
    .filter((e) => e.isSymbolicLink())
    .map((e) => join(e.parentPath, e.name).slice(gitDir.length + 1));
  for (const link of links) await rm(join(gitDir, link), { force: true });
  return links;
}

/** HEAD that is neither a ref under refs/ nor a commit id (`ref: ../../elsewhere`, `refs/../x`). */
async function isStrangeHead(gitDir: string): Promise<boolean> {
  const head = await readFile(join(gitDir, 'HEAD'), 'utf8').catch(() => '');
  if (head.includes('..')) return true;
  return !/^(ref: refs\/\S+|[0-9a-f]{40}|[0-9a-f]{64})\n?$/.test(head);
}

/**
 * Makes the clone's `.git` a plain repository again before the host runs git in it: refuses (permanent)
 * when `.git`, `.git/objects` or `.git/refs` is not a real directory (a `gitdir:` file, a symlink),
 * and otherwise deletes every indirection the agent could have planted, logging a warning for each
 * that is not a mere cache. HEAD is left to the caller, which rewrites it; the result says whether it
 * looked forged. Other files (config, alternates) are rewritten by restoreClone.
 */
export async function sanitizeGitDir(gitDir: string, log: Logger): Promise<{ strangeHead: boolean }> {
  await requireStructure(gitDir);
  // Symlinks first: removing `info/attributes` through an `info` symlink would delete a host file.
  const links = await removeSymlinks(gitDir);
  const planted = await removeExisting(gitDir, PLANTED);
  await removeExisting(gitDir, DISPOSABLE);
  for (const dir of ['objects/info', 'refs/heads']) await mkdir(join(gitDir, dir), { recursive: true });
  const strangeHead = links.includes('HEAD') || (await isStrangeHead(gitDir));
  const found = [...planted, ...links, ...(strangeHead && !links.includes('HEAD') ? ['HEAD'] : [])];
  if (found.length > 0) log.warn({ found }, 'agent tampered with the clone: removed git indirections');
  return { strangeHead };
}
