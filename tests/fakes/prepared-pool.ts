import { join } from 'node:path';
import { FileConfig, type RepositoryConfig } from '../../src/config/file-schema.js';
import { createBareRepo, tempDir } from '../../src/demo/git-fixtures.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createRedactor } from '../../src/lib/redact.js';
import { createSandbox } from '../../src/sandbox/create-sandbox.js';
import { createPackageCaches } from '../../src/tasks/environment.js';
import { createEntryPreparer } from '../../src/tasks/prepare-entry.js';
import { createWorkspaces } from '../../src/workspace/create-workspaces.js';
import { type EntryPreparer, noCredentials } from '../../src/workspace/types.js';

/** A hold on the preparer: while `held`, every prepare waits for `release()`. */
export interface PrepareGate {
  held: boolean;
  release(): void;
  /** Resolves when a prepare is waiting at the gate. */
  waiting: Promise<void>;
}

/**
 * Workspaces with prepared entries over a local bare repository, the real bubblewrap sandbox, the
 * entry preparer and package caches, as the worker wires them. `repoConfig` is the repository's
 * patchbay.yml entry (its name is set here).
 */
export async function startPreparedPool(
  repoConfig: Record<string, unknown>,
  opts: { setupEnv?: Record<string, string>; cacheMb?: number } = {},
) {
  const dir = await tempDir('patchbay-prepared-');
  const repo = 'acme/env';
  const bare = await createBareRepo(join(dir, 'remote', 'env.git'), {
    'README.md': '# env\n',
    'package-lock.json': '{"lockfileVersion":3}\n',
    '.gitignore': 'node_modules/\n',
  });
  const file = FileConfig.parse({
    repositories: [{ name: repo, pool_size: 1, ...repoConfig }],
    cache_mb: opts.cacheMb ?? 1024,
  });
  const repositories = new Map<string, RepositoryConfig>(file.repositories.map((r) => [r.name, r]));
  const config = { file, repositories };
  const log = createSilentLogger();
  const root = join(dir, 'data');
  const sandbox = createSandbox({ mode: 'bwrap', log });
  const caches = createPackageCaches({ root, maxBytes: file.cache_mb * 1024 * 1024, log });
  const setupEnv = opts.setupEnv ?? {};
  const redact = createRedactor(Object.values(setupEnv));
  const real = createEntryPreparer({
    config,
    sandbox,
    caches,
    setupEnv: () => setupEnv,
    redact,
    tools: 'test-tools',
    log,
  });
  let arrive = () => {};
  let open = () => {};
  const gate: PrepareGate = {
    held: false,
    release: () => open(),
    waiting: Promise.resolve(),
  };
  const hold = () => {
    gate.held = true;
    gate.waiting = new Promise<void>((resolve) => {
      arrive = resolve;
    });
  };
  const preparer: EntryPreparer = {
    ...real,
    async prepare(req) {
      if (gate.held) {
        const opened = new Promise<void>((resolve) => {
          open = resolve;
        });
        arrive();
        await opened;
        gate.held = false;
      }
      return real.prepare(req);
    },
  };
  const workspaces = createWorkspaces({
    root,
    remoteUrl: () => bare,
    credentials: noCredentials,
    log,
    pool: { size: 1 },
    preparer,
  });
  return {
    dir,
    root,
    repo,
    bare,
    config,
    sandbox,
    caches,
    workspaces,
    gate,
    hold,
    environment: { caches, setupEnv: () => setupEnv, redact },
    task: (id: string, branch = `patchbay/${id}`) => ({ repo, taskId: id, branch, base: 'main' }),
  };
}

export type PreparedPool = Awaited<ReturnType<typeof startPreparedPool>>;
