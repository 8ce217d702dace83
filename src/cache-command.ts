import { homedir } from 'node:os';
import { join } from 'node:path';
import { PatchbayError } from './domain/errors.js';
import { RepoName } from './domain/task-request.js';
import { clearRepositoryData } from './workspace/package-caches.js';

const USAGE = 'usage: patchbay cache clear <owner/name>';

/** The worker's data directory: mirrors, pool, tasks and package caches. */
export function dataDirOf(env: Record<string, string | undefined>): string {
  return env.PATCHBAY_DATA_DIR || join(homedir(), '.patchbay');
}

/**
 * `patchbay cache clear <owner/name>`, run on a worker's machine with the worker's PATCHBAY_DATA_DIR:
 * deletes the repository's prepared pool entries and package cache there, and leaves a mark that
 * makes a worker throw away an entry it was preparing meanwhile. Each worker machine has its own
 * data directory: run it on each. A running task keeps its clone; the next one prepares afresh.
 */
export async function runCacheCommand(
  args: string[],
  opts: { env: Record<string, string | undefined>; out: NodeJS.WritableStream },
): Promise<void> {
  const [action, repo, ...rest] = args;
  if (action !== 'clear' || !repo || rest.length) throw new PatchbayError('invalid_request', USAGE);
  const name = RepoName.safeParse(repo);
  if (!name.success)
    throw new PatchbayError('invalid_request', `not a repository name: ${repo}`, { hint: USAGE });
  const root = dataDirOf(opts.env);
  const { entries } = await clearRepositoryData(root, name.data);
  opts.out.write(
    `cleared ${name.data} in ${root}: ${entries} pool ${entries === 1 ? 'entry' : 'entries'} and the package cache\n`,
  );
}
