import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cloneIdentity, writeConfig } from './adopt-pool-entry.js';
import { checkCloneConfig } from './check-clone-config.js';
import { cloneShared } from './clone-shared.js';
import { sanitizeGitDir } from './sanitize-git-dir.js';
import { mirrorName, type WorkspaceContext } from './workspace-context.js';

async function writeReplacing(path: string, content: string): Promise<void> {
  // rename() replaces a symlink setup may have put there instead of writing through it.
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}

/** The config a fresh entry of `repo` has, per mirror and identity: made once in a throwaway clone. */
const templates = new Map<string, Promise<string>>();

function configTemplate(ctx: WorkspaceContext, repo: string, mirrorDir: string): Promise<string> {
  const id = JSON.stringify([ctx.root, repo, mirrorDir, cloneIdentity(ctx, repo)]);
  let made = templates.get(id);
  if (!made) {
    made = (async () => {
      // Named like a half-built entry, so that sweepOrphans removes it if this process dies here.
      await mkdir(join(ctx.poolDir, mirrorName(repo)), { recursive: true });
      const dir = join(
        ctx.poolDir,
        mirrorName(repo),
        `.tmp-${process.pid}-cfg${randomBytes(3).toString('hex')}`,
      );
      try {
        const clone = join(dir, 'c');
        await cloneShared(ctx, mirrorDir, clone);
        await writeConfig(ctx, clone, cloneIdentity(ctx, repo));
        return await readFile(join(clone, '.git', 'config'), 'utf8');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    })();
    made.catch(() => templates.delete(id));
    templates.set(id, made);
  }
  return made;
}

/**
 * Makes a prepared entry's `.git` what Patchbay made it, before the host runs git in it: setup is the
 * repository's code and ran with a writable `.git`, so it gets what a clone gets after the agent
 * (sanitizeGitDir: planted indirections and symlinks removed, a swapped `.git` refused), then the
 * config and alternates of a fresh entry, HEAD detached at the entry's commit, and the config check.
 */
export async function cleanPoolEntry(
  ctx: WorkspaceContext,
  entry: { dir: string; repo: string; mirrorDir: string; sha: string },
): Promise<void> {
  const gitDir = join(entry.dir, '.git');
  await sanitizeGitDir(gitDir, ctx.log.child({ repo: entry.repo, poolEntry: true }));
  await writeReplacing(join(gitDir, 'config'), await configTemplate(ctx, entry.repo, entry.mirrorDir));
  await writeReplacing(
    join(gitDir, 'objects', 'info', 'alternates'),
    `${join(entry.mirrorDir, 'objects')}\n`,
  );
  await writeReplacing(join(gitDir, 'HEAD'), `${entry.sha}\n`);
  await checkCloneConfig(ctx, entry.dir);
}
