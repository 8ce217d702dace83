import { randomBytes } from 'node:crypto';
import { limitsFor } from '../config/limits-for.js';
import { type Config, findRepository } from '../config/load-config.js';
import { PatchbayError } from '../domain/errors.js';
import type { Logger } from '../lib/logger.js';
import type { SandboxHost } from '../sandbox/types.js';
import type { EntryPreparer } from '../workspace/types.js';
import { commandsOf, type PackageCaches, recipeOf } from './environment.js';
import { toTaskLimits } from './limited-attempt.js';
import { runSetup } from './run-commands.js';

/** A refill's setup yields the CPU to tasks (cgroup v2's cpu.weight; rlimits alone nice it to 10). */
const PREPARE_CPU_WEIGHT = 10;

export interface EntryPreparerDeps {
  config: Pick<Config, 'repositories' | 'file'>;
  sandbox: SandboxHost;
  caches: PackageCaches;
  /** Per repository, its `setup_env` values read from the worker's environment at start. */
  setupEnv: (repo: string) => Record<string, string>;
  redact: (text: string) => string;
  /** toolFingerprint(): part of every key. */
  tools: string;
  log: Logger;
}

/**
 * Runs a repository's setup (or maintenance) in a pool entry at the base's tip, as a task would: in
 * its own task sandbox under the repository's limits but a low CPU weight, with internet, its
 * setup_env and its package cache writable (the base is the repository's own code, not an agent's).
 */
export function createEntryPreparer(deps: EntryPreparerDeps): EntryPreparer {
  const repoOf = (name: string) => findRepository(deps.config, name);
  return {
    recipe: (name) => {
      const repo = repoOf(name);
      return repo ? recipeOf(repo, deps.tools) : undefined;
    },
    size: (name) => repoOf(name)?.pool_size ?? 0,
    async prepare({ repo: name, dir, mirrorDir, kind }) {
      const repo = repoOf(name);
      if (!repo) throw new PatchbayError('repo_not_allowed', `${name} is not in patchbay.yml`);
      const commands = commandsOf(repo, kind);
      if (commands.length === 0) return;
      const limits = limitsFor(deps.config.file, repo);
      const sandbox = await deps.sandbox.openTask({
        taskId: `pool-${randomBytes(4).toString('hex')}`,
        workdir: dir,
        limits: { ...toTaskLimits(limits), cpuWeight: PREPARE_CPU_WEIGHT },
      });
      const cache = { dir: await deps.caches.dirFor(name), writable: true };
      try {
        await runSetup({
          sandbox,
          ws: { dir, mirrorDir },
          repo,
          commands,
          timeoutMs: limits.setup_minutes * 60_000,
          signal: new AbortController().signal,
          env: deps.setupEnv(name),
          cache,
          redact: deps.redact,
        });
      } finally {
        await sandbox.close();
      }
      await deps.caches.used(cache.dir);
      deps.log.info({ repo: name, kind }, 'pool entry prepared');
    },
  };
}
