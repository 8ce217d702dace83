import { createHash } from 'node:crypto';
import type { RepositoryConfig } from '../config/file-schema.js';
import type { Logger } from '../lib/logger.js';
import { CACHE_TOOLS } from '../sandbox/cache-env.js';
import { ensureCacheDir, touchCacheTools, trimCaches } from '../workspace/package-caches.js';
import { DEFAULT_SETUP_INPUTS, type SetupRecipe } from '../workspace/setup-key.js';
import type { SetupKind, TaskWorkspace } from '../workspace/types.js';

/**
 * What a repository's prepared entries depend on besides its files: its commands and the worker's
 * tools. undefined when it has neither setup nor maintenance: its entries are plain checkouts.
 */
export function recipeOf(repo: RepositoryConfig, tools: string): SetupRecipe | undefined {
  if (repo.setup.length === 0 && repo.maintenance.length === 0) return undefined;
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ setup: repo.setup, maintenance: repo.maintenance, tools }))
    .digest('hex');
  return { inputs: repo.setup_inputs ?? DEFAULT_SETUP_INPUTS, fingerprint };
}

/**
 * How the task's environment is made: `none` without commands; `prepared` when its clone is a
 * prepared entry at its own commit (or at another one, with no maintenance to run); `maintenance` on a
 * prepared entry of the same key brought to another commit (a moved base, a follow-up's branch);
 * `full` setup otherwise.
 */
export function setupKindOf(
  repo: Pick<RepositoryConfig, 'setup' | 'maintenance'>,
  ws: Pick<TaskWorkspace, 'startSha' | 'prepared'>,
): SetupKind {
  if (repo.setup.length === 0 && repo.maintenance.length === 0) return 'none';
  if (!ws.prepared) return 'full';
  if (ws.prepared.sha === ws.startSha || repo.maintenance.length === 0) return 'prepared';
  return 'maintenance';
}

/** The commands a kind runs. */
export function commandsOf(repo: RepositoryConfig, kind: SetupKind): readonly string[] {
  if (kind === 'full') return repo.setup;
  if (kind === 'maintenance') return repo.maintenance;
  return [];
}

/** The package caches of one worker: `<data dir>/caches/<repo>/<tool>`, all of them under `cache_mb`. */
export interface PackageCaches {
  /** The repository's cache directory, made if missing. */
  dirFor(repo: string): Promise<string>;
  /** After a setup wrote to `dir`: its tools count as used now; a trim to size starts in the background. */
  used(dir: string): Promise<void>;
  /** Resolves once no trim runs (tests, the benchmark). */
  idle(): Promise<void>;
}

export function createPackageCaches(opts: { root: string; maxBytes: number; log: Logger }): PackageCaches {
  let trimming: Promise<unknown> = Promise.resolve();
  return {
    dirFor: (repo) => ensureCacheDir(opts.root, repo, CACHE_TOOLS),
    async used(dir) {
      await touchCacheTools(dir, CACHE_TOOLS);
      // One trim at a time: two would count the same directories.
      trimming = trimming
        .then(() => trimCaches(opts.root, opts.maxBytes, opts.log))
        .catch((err: Error) => opts.log.warn({ err: err.message }, 'could not trim the package caches'));
    },
    async idle() {
      await trimming;
    },
  };
}
