import type { RunGitOptions } from './git.js';
import type { WorkspaceContext } from './workspace-context.js';

/**
 * A `--shared --no-checkout` clone of the mirror: it borrows the mirror's objects
 * (objects/info/alternates) instead of copying them, so it costs no network and only the checkout
 * that follows takes time. The sandbox mounts the mirror read-only at the same path so that the
 * agent's git still finds them. Task clones and pool entries are made alike, with hooks, fsmonitor
 * and auto gc off in their config.
 */
export async function cloneShared(
  ctx: WorkspaceContext,
  mirrorDir: string,
  dir: string,
  opts: Pick<RunGitOptions, 'niceness'> = {},
): Promise<void> {
  const config = [
    `user.name=${ctx.bot.name}`,
    `user.email=${ctx.bot.email}`,
    'core.hooksPath=/dev/null',
    'core.fsmonitor=false',
    'gc.auto=0',
  ];
  await ctx.git(
    [
      'clone',
      '--shared',
      '--no-checkout',
      '--quiet',
      ...config.flatMap((c) => ['-c', c]),
      '--',
      mirrorDir,
      dir,
    ],
    { timeoutMs: ctx.timeouts.localMs, ...opts },
  );
}
