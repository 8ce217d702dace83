import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cloneGitOptions } from './clone-git-env.js';
import type { RunGitOptions } from './git.js';
import type { WorkspaceContext } from './workspace-context.js';

/** origin names the real remote (no credentials) so that what the agent sees matches the PR. */
export function originUrl(ctx: WorkspaceContext, repo: string): [string, string] {
  return ['remote.origin.url', ctx.remoteUrl(repo)];
}

/** The config of a clone that depends on this process's settings rather than on the repository. */
export function cloneIdentity(ctx: WorkspaceContext, repo: string): Array<[string, string]> {
  return [originUrl(ctx, repo), ['user.name', ctx.bot.name], ['user.email', ctx.bot.email]];
}

/** A short hash of cloneIdentity, kept in a pool entry's name: an equal tag means no config to write. */
export function identityTag(identity: Array<[string, string]>): string {
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 8);
}

export async function writeConfig(
  ctx: WorkspaceContext,
  dir: string,
  entries: Array<[string, string]>,
  opts: Pick<RunGitOptions, 'niceness'> = {},
): Promise<void> {
  for (const [key, value] of entries) {
    await ctx.git(['config', key, value], { ...cloneGitOptions(dir, ctx.timeouts.localMs), ...opts });
  }
}

const ORIGIN = 'refs/remotes/origin/';

function parseRefs(out: string, prefix: string): { refs: Map<string, string>; headTarget?: string } {
  const refs = new Map<string, string>();
  let headTarget: string | undefined;
  for (const line of out.split('\n')) {
    const [sha, ref, symref] = line.split(' ');
    if (!sha || !ref?.startsWith(prefix)) continue;
    if (symref) headTarget = symref;
    else refs.set(ref.slice(prefix.length), sha);
  }
  return { refs, headTarget };
}

/**
 * Points the clone's origin/* refs at the mirror's branches as they are now, as a clone made now
 * would have them (diffSummary's merge base relies on origin/<base>). One update-ref transaction for
 * what moved; the objects are already there, borrowed from the mirror.
 */
async function syncRemoteRefs(ctx: WorkspaceContext, dir: string, mirrorDir: string): Promise<void> {
  const local = cloneGitOptions(dir, ctx.timeouts.localMs);
  const [theirs, ours, headFile] = await Promise.all([
    ctx.git(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/'], { cwd: mirrorDir }),
    ctx.git(['for-each-ref', '--format=%(objectname) %(refname) %(symref)', ORIGIN], local),
    readFile(join(mirrorDir, 'HEAD'), 'utf8'),
  ]);
  const mirror = parseRefs(theirs, 'refs/heads/').refs;
  const clone = parseRefs(ours, ORIGIN);
  const commands: string[] = [];
  for (const [name, sha] of mirror) {
    if (clone.refs.get(name) !== sha) commands.push(`update ${ORIGIN}${name} ${sha}`);
  }
  for (const name of clone.refs.keys()) {
    if (!mirror.has(name)) commands.push(`delete ${ORIGIN}${name}`);
  }
  if (commands.length > 0) {
    await ctx.git(['update-ref', '--stdin'], { ...local, input: `${commands.join('\n')}\n` });
  }
  const head = /^ref: refs\/heads\/(\S+)/.exec(headFile)?.[1];
  if (head && clone.headTarget !== `${ORIGIN}${head}`) {
    await ctx.git(['symbolic-ref', `${ORIGIN}HEAD`, `${ORIGIN}${head}`], local);
  }
}

/**
 * Puts the clone on `branch` at `sha`. At the entry's own commit (the usual case: entries are made at
 * the tip) pointing the branch and HEAD is enough, and skips the 60 ms a checkout spends reading and
 * rewriting an index of 10,000 files; elsewhere the checkout rewrites only the files that differ. The
 * entry is detached, so its HEAD file holds the commit itself.
 */
async function switchBranch(ctx: WorkspaceContext, dir: string, branch: string, sha: string): Promise<void> {
  const local = cloneGitOptions(dir, ctx.timeouts.localMs);
  const head = (await readFile(join(dir, '.git', 'HEAD'), 'utf8')).trim();
  if (head !== sha) {
    await ctx.git(['checkout', '--quiet', '-B', branch, sha], local);
    return;
  }
  await ctx.git(['update-ref', `refs/heads/${branch}`, sha], local);
  await ctx.git(['symbolic-ref', 'HEAD', `refs/heads/${branch}`], local);
}

/**
 * Turns a claimed pool entry into a task's clone on `branch` at `sha`. The config is written again only
 * when the entry was made with other settings (`tag` differs: another process, a restart). The entry's
 * index needs no refresh: it was rewritten after the racy-git window, and rename() kept every inode.
 */
export async function adoptPoolEntry(
  ctx: WorkspaceContext,
  entry: { dir: string; tag: string },
  req: { repo: string; branch: string },
  mirrorDir: string,
  sha: string,
): Promise<void> {
  const identity = cloneIdentity(ctx, req.repo);
  if (entry.tag !== identityTag(identity)) await writeConfig(ctx, entry.dir, identity);
  await syncRemoteRefs(ctx, entry.dir, mirrorDir);
  await switchBranch(ctx, entry.dir, req.branch, sha);
}
