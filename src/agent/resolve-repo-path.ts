import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';

export type RepoPath = { ok: true; abs: string; rel: string } | { ok: false; error: string };

/**
 * Resolves a path the model gave to a real path inside the clone, or says why not. The model's paths
 * are relative to the repository root; nothing outside it (absolute paths, `..`, symlinks pointing
 * out), nothing under `.git` (hooks and config there would run on the host's git commands).
 *
 * Symlinks are followed with `realpath` on the nearest existing ancestor, so a write through a
 * symlinked directory resolves to where it would really land and is refused when that is outside.
 * A dangling symlink is refused: writing through it would create its target, wherever that is.
 */
export async function resolveRepoPath(root: string, input: string): Promise<RepoPath> {
  const lexical = checkLexically(input);
  if (lexical) return { ok: false, error: lexical };
  const rootReal = await realpath(root);
  const abs = path.resolve(rootReal, input);
  const outside = checkInside(rootReal, abs, input);
  if (outside) return { ok: false, error: outside };
  const real = await resolveExisting(abs);
  if (!real) return { ok: false, error: `${input} is a symlink whose target does not exist; refusing it.` };
  const escaped = checkInside(rootReal, real, input);
  if (escaped) return { ok: false, error: `${input} resolves through a symlink to outside the repository.` };
  return { ok: true, abs: real, rel: path.relative(rootReal, real) || '.' };
}

function checkLexically(input: string): string | undefined {
  if (input.trim() === '') return 'The path is empty; give a path relative to the repository root.';
  if (input.includes('\0')) return 'The path contains a NUL character.';
  if (path.isAbsolute(input) || input.startsWith('~')) {
    return `${input} is absolute; give a path relative to the repository root, e.g. src/index.ts.`;
  }
  return undefined;
}

function checkInside(rootReal: string, abs: string, input: string): string | undefined {
  const rel = path.relative(rootReal, abs);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    return `${input} is outside the repository; only paths inside it can be used.`;
  }
  // Case-insensitive: on a case-insensitive file system `.GIT/config` is `.git/config`.
  if (rel.split(path.sep).some((segment) => segment.toLowerCase() === '.git')) {
    return `${input} is inside .git, which the agent may not read or change; use git commands in bash to inspect history.`;
  }
  return undefined;
}

/** realpath of `abs` when it exists, else realpath of its nearest existing ancestor plus the rest. */
async function resolveExisting(abs: string): Promise<string | undefined> {
  const rest: string[] = [];
  let current = abs;
  for (;;) {
    try {
      const real = await realpath(current);
      return path.join(real, ...rest);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    if (await isDanglingLink(current)) return undefined;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    rest.unshift(path.basename(current));
    current = parent;
  }
}

async function isDanglingLink(p: string): Promise<boolean> {
  try {
    return (await lstat(p)).isSymbolicLink();
  } catch {
    return false;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
