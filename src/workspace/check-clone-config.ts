import { cloneGitOptions } from './clone-git-env.js';
import { tampered } from './sanitize-git-dir.js';
import type { WorkspaceContext } from './workspace-context.js';

/**
 * Keys (as `git config --list` spells them: section and name lower-cased) that make git run a
 * program, read more config, or talk to another server, and that command-level config cannot switch
 * off. None is ever in a clone's config as Patchbay writes it.
 */
const DANGEROUS = [
  /^include\./,
  /^includeif\./,
  /^url\./,
  /^filter\./,
  /^credential\./,
  /^diff\.external$/,
  /^diff\..+\.(command|textconv)$/,
  /^merge\..+\.driver$/,
  /^core\.(gitproxy|worktree|editor|sshcommand|askpass)$/,
  /^extensions\./,
  /^http\..*extraheader$/,
  /^remote\..+\.(uploadpack|receivepack|vcs|proxy|pushurl)$/,
];

/**
 * Reads the clone's effective config as a host git process will see it and refuses (permanent) when a
 * key from anywhere but our own command-level config could make git run a program or redirect a push.
 * restoreClone has just rewritten the config, so this catches only what it did not foresee.
 */
export async function checkCloneConfig(ctx: WorkspaceContext, dir: string): Promise<void> {
  const out = await ctx.git(
    ['config', '--list', '--show-origin', '-z'],
    cloneGitOptions(dir, ctx.timeouts.localMs),
  );
  const fields = out.split('\0');
  const bad: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const origin = fields[i] ?? '';
    const key = (fields[i + 1] ?? '').split('\n', 1)[0] ?? '';
    if (origin === 'command line:') continue;
    if (DANGEROUS.some((re) => re.test(key))) bad.push(key);
  }
  if (bad.length === 0) return;
  ctx.log.warn({ keys: bad.slice(0, 20) }, 'agent tampered with the clone: config survived the restore');
  throw tampered(`config ${bad[0] ?? ''}`);
}
