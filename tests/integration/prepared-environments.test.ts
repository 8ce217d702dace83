import { readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runCacheCommand } from '../../src/cache-command.js';
import {
  branchTip,
  commitToBare,
  fastImport,
  fastImportCommit,
  git,
  tempDir,
} from '../../src/demo/git-fixtures.js';
import type { TimelineEntry } from '../../src/domain/timeline.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createPackageCaches, setupKindOf } from '../../src/tasks/environment.js';
import { makeEnvironment } from '../../src/tasks/make-environment.js';
import type { TaskClone } from '../../src/workspace/types.js';
import { type PreparedPool, startPreparedPool } from '../fakes/prepared-pool.js';

let pools: PreparedPool[] = [];

async function pool(repoConfig: Record<string, unknown>, opts?: Parameters<typeof startPreparedPool>[1]) {
  const p = await startPreparedPool(repoConfig, opts);
  pools.push(p);
  return p;
}

afterEach(async () => {
  for (const p of pools) {
    p.gate.release();
    await p.workspaces.poolIdle();
    await rm(p.dir, { recursive: true, force: true });
  }
  pools = [];
});

/** Fills the pool of the repository and waits for the refill to end. */
async function filled(p: PreparedPool): Promise<void> {
  await p.workspaces.syncMirror(p.repo);
  await p.workspaces.poolIdle();
}

const entries = async (p: PreparedPool) => {
  const top = join(p.root, 'pool');
  const [repoDir] = await readdir(top).catch(() => [] as string[]);
  if (!repoDir) return [];
  return (await readdir(join(top, repoDir))).filter((n) => !n.startsWith('.'));
};
const read = (clone: TaskClone, path: string) =>
  readFile(join(clone.dir, path), 'utf8').catch(() => undefined);
const inClone = (clone: TaskClone, args: string[]) => git(args, { cwd: clone.dir }).then((o) => o.trim());

/** A branch off main's tip with `files` changed (a follow-up's branch). */
async function branchOffMain(p: PreparedPool, branch: string, files: Record<string, string>) {
  const tip = await branchTip(p.bare, 'main');
  await fastImport(p.bare, fastImportCommit({ branch, message: 'work', files }, tip));
  await p.workspaces.syncMirror(p.repo);
}

/** The setup stage of a task in `clone`, as runTask runs it, with the entries it writes. */
async function setupStage(p: PreparedPool, clone: TaskClone) {
  const written: TimelineEntry[] = [];
  const timeline = { add: (_id: string, entry: TimelineEntry) => void written.push(entry) };
  const repo = p.config.repositories.get(p.repo);
  if (!repo) throw new Error('no repository');
  const sandbox = await p.sandbox.openTask({
    taskId: 'env-test',
    workdir: clone.dir,
    limits: { memoryBytes: 2 ** 31, processes: 512, diskBytes: 2 ** 33, tmpBytes: 2 ** 27, cpuWeight: 100 },
  });
  try {
    const inClone = { sandbox, ws: clone, repo, timeoutMs: 60_000, signal: new AbortController().signal };
    const setup = await makeEnvironment(
      inClone,
      { timeline, environment: p.environment },
      { id: 't', runs: 1, attempts: 1 },
    );
    return { setup, written };
  } finally {
    await sandbox.close();
  }
}

describe('prepared pool entries', () => {
  it('hands a task an entry whose setup already ran, and the task runs no setup', async () => {
    const p = await pool({ setup: ['echo full >> .setup-runs'] });
    await filled(p);

    const clone = await p.workspaces.createClone(p.task('a1'));
    const { setup, written } = await setupStage(p, clone);

    expect(clone.prepared?.sha).toBe(clone.startSha);
    expect(setup.kind).toBe('prepared');
    expect(await read(clone, '.setup-runs')).toBe('full\n');
    expect(written).toMatchObject([{ type: 'environment', setup: 'prepared', commands: 0, cache: false }]);
    expect(p.workspaces.stats()).toMatchObject({ poolHits: 1, poolEntriesPrepared: 1 });
  });

  it('brings an entry to a moved base with maintenance when the setup inputs did not change', async () => {
    const p = await pool({ setup: ['echo full >> .setup-runs'], maintenance: ['echo maint >> .setup-runs'] });
    await filled(p);
    const tip = await commitToBare(p.bare, {
      branch: 'main',
      message: 'docs',
      files: { 'README.md': '# moved\n' },
    });

    await filled(p);
    const clone = await p.workspaces.createClone(p.task('b1'));

    expect(p.workspaces.stats()).toMatchObject({ poolEntriesRefreshed: 1, poolEntriesPrepared: 1 });
    expect(clone.startSha).toBe(tip);
    expect(clone.prepared?.sha).toBe(tip);
    expect(await read(clone, '.setup-runs')).toBe('full\nmaint\n');
    expect(await read(clone, 'README.md')).toBe('# moved\n');
  });

  it('runs maintenance in the task when it claims an entry of its key at another commit', async () => {
    const p = await pool({ setup: ['echo full >> .setup-runs'], maintenance: ['echo maint >> .setup-runs'] });
    await filled(p);
    await branchOffMain(p, 'patchbay/c1', { 'src/a.js': 'a\n' });

    const clone = await p.workspaces.createClone(p.task('c1'));
    const { setup } = await setupStage(p, clone);

    expect(clone.branchExisted).toBe(true);
    expect(setup.kind).toBe('maintenance');
    expect(await read(clone, '.setup-runs')).toBe('full\nmaint\n');
    expect(await read(clone, 'src/a.js')).toBe('a\n');
  });

  it('never hands out an entry of another key: a changed lockfile means a full setup', async () => {
    const p = await pool({ setup: ['echo full >> .setup-runs'] });
    await filled(p);
    const before = await entries(p);
    p.hold();
    await commitToBare(p.bare, {
      branch: 'main',
      message: 'deps',
      files: { 'package-lock.json': '{"lockfileVersion":3,"packages":{}}\n' },
    });

    await p.workspaces.syncMirror(p.repo);
    await p.gate.waiting;
    const clone = await p.workspaces.createClone(p.task('d1'));
    const { setup } = await setupStage(p, clone);
    p.gate.release();
    await p.workspaces.poolIdle();

    expect(before).toHaveLength(1);
    expect(clone.prepared).toBeUndefined();
    expect(setup.kind).toBe('full');
    expect(await read(clone, '.setup-runs')).toBe('full\n');
    const after = await entries(p);
    expect(after).toHaveLength(1);
    expect(after[0]?.split('-')[2]).not.toBe(before[0]?.split('-')[2]);
  });

  it("keeps nothing of one task's clone in the next task's entry", async () => {
    const p = await pool({ setup: ['echo full >> .setup-runs'] });
    await filled(p);
    const first = await p.workspaces.createClone(p.task('e1'));
    await writeFile(join(first.dir, 'stray.txt'), 'left by e1\n');
    await writeFile(join(first.dir, 'README.md'), 'edited by e1\n');
    await first.dispose();
    await p.workspaces.poolIdle();

    const second = await p.workspaces.createClone(p.task('e2'));

    expect(second.prepared).toBeDefined();
    expect(await read(second, 'stray.txt')).toBeUndefined();
    expect(await read(second, 'README.md')).toBe('# env\n');
    expect((await stat(join(second.dir, 'README.md'))).nlink).toBe(1);
  });

  it('cleans a .git that setup tampered with before the host runs git in the entry', async () => {
    const planted = [
      `printf '[core]\\n\\tfsmonitor = touch /workspace/FSMONITOR\\n[filter "evil"]\\n\\tclean = touch /workspace/FILTER\\n' >> .git/config`,
      `printf '* filter=evil\\n' > .git/info/attributes`,
      'ln -s /etc/hostname .git/description-link',
    ].join(' && ');
    const p = await pool({ setup: [planted] });
    await filled(p);

    const clone = await p.workspaces.createClone(p.task('f1'));
    const config = await inClone(clone, ['config', '--list']);
    await inClone(clone, ['status', '--porcelain']);

    expect(config).not.toMatch(/fsmonitor = touch|filter\.evil/);
    expect(await read(clone, '.git/info/attributes')).toBeUndefined();
    expect(await read(clone, '.git/description-link')).toBeUndefined();
    expect(await read(clone, 'FSMONITOR')).toBeUndefined();
    expect(await read(clone, 'FILTER')).toBeUndefined();
  });
});

describe('setup_env', () => {
  const TOKEN = 'npm_setuponlytoken1234567';

  it('reaches setup but not a command run as the agent runs its own', async () => {
    const p = await pool(
      { setup: [`test "$NPM_TOKEN" = ${TOKEN} && echo seen > .token-seen`], setup_env: ['NPM_TOKEN'] },
      { setupEnv: { NPM_TOKEN: TOKEN } },
    );
    await filled(p);
    const clone = await p.workspaces.createClone(p.task('g1'));

    const agent = await p.sandbox.run({
      command: 'echo "${NPM_TOKEN:-absent}"; env | grep -c setuponly || true',
      workdir: clone.dir,
      readOnlyPaths: [clone.mirrorDir],
      network: 'none',
      timeoutMs: 30_000,
    });

    expect(await read(clone, '.token-seen')).toBe('seen\n');
    expect(agent.output).toBe('absent\n0\n');
  });

  it('is redacted from what a failed setup printed', async () => {
    const p = await pool(
      { setup: ['echo "token is $NPM_TOKEN"; exit 3'], setup_env: ['NPM_TOKEN'], pool_size: 0 },
      { setupEnv: { NPM_TOKEN: TOKEN } },
    );
    const clone = await p.workspaces.createClone(p.task('g2'));

    const failure = await setupStage(p, clone).catch((err: Error & { hint?: string }) => err);

    expect(failure).toMatchObject({ code: 'setup_failed' });
    expect((failure as { hint?: string }).hint).toContain('token is [redacted]');
    expect(JSON.stringify(failure)).not.toContain(TOKEN);
  });
});

describe('package caches', () => {
  const USE_CACHE =
    'echo "$npm_config_cache" > .cache-var; touch "$npm_config_cache/was-here" 2>/dev/null; ls /var/cache/patchbay > .cache-seen 2>&1 || true';

  it('are writable for setup at the base and out of reach of a follow-up and of the agent', async () => {
    const p = await pool({ setup: [USE_CACHE] });
    await filled(p);
    await branchOffMain(p, 'patchbay/h1', { 'package-lock.json': '{"lockfileVersion":3,"changed":true}\n' });
    const cacheDir = join(p.root, 'caches', (await readdir(join(p.root, 'caches')))[0] ?? '');

    const followUp = await p.workspaces.createClone(p.task('h1'));
    await rm(join(cacheDir, 'npm', 'was-here'));
    const { setup } = await setupStage(p, followUp);
    const agent = await p.sandbox.run({
      command: 'ls /var/cache/patchbay 2>&1; echo "${npm_config_cache:-unset}"',
      workdir: followUp.dir,
      network: 'none',
      timeoutMs: 30_000,
    });

    expect(setup.kind).toBe('full');
    expect(await read(followUp, '.cache-var')).toBe('\n');
    expect(await read(followUp, '.cache-seen')).toMatch(/No such file/);
    expect(await readdir(join(cacheDir, 'npm'))).toEqual([]);
    expect(agent.output).toMatch(/No such file[\s\S]*unset\n$/);
  });

  it('keeps the caches of all repositories under cache_mb, dropping the least recently used first', async () => {
    const root = await tempDir('patchbay-caches-');
    const caches = createPackageCaches({ root, maxBytes: 1_000_000, log: createSilentLogger() });
    const old = await caches.dirFor('acme/old');
    await writeFile(join(old, 'pip', 'blob'), 'x'.repeat(600_000));
    await utimes(join(old, 'pip'), new Date(1_000_000), new Date(1_000_000));
    const recent = await caches.dirFor('acme/new');
    await writeFile(join(recent, 'npm', 'blob'), 'y'.repeat(700_000));

    await caches.used(recent);
    await caches.idle();

    expect(await readdir(join(old, 'pip'))).toEqual([]);
    expect(await readdir(join(recent, 'npm'))).toEqual(['blob']);
    await rm(root, { recursive: true, force: true });
  });

  it('`patchbay cache clear` drops the entries and the cache, and what a refill was preparing meanwhile', async () => {
    const p = await pool({ setup: ['echo x > "$npm_config_cache/kept"'] });
    await filled(p);
    let said = '';
    const out = new Writable({
      write(chunk, _enc, done) {
        said += String(chunk);
        done();
      },
    });

    await runCacheCommand(['clear', p.repo], { env: { PATCHBAY_DATA_DIR: p.root }, out });
    const afterClear = { entries: await entries(p), caches: await readdir(join(p.root, 'caches')) };
    p.hold();
    const clone = await p.workspaces.createClone(p.task('i1'));
    await p.gate.waiting;
    await runCacheCommand(['clear', p.repo], { env: { PATCHBAY_DATA_DIR: p.root }, out });
    p.gate.release();
    await p.workspaces.poolIdle();

    expect(said.split('\n')[0]).toBe(`cleared ${p.repo} in ${p.root}: 1 pool entry and the package cache`);
    expect(afterClear).toEqual({ entries: [], caches: [] });
    expect(clone.prepared).toBeUndefined();
    expect(await entries(p)).toEqual([]);
  });

  it('`patchbay cache clear` refuses what is not a repository name', async () => {
    const out = new Writable({ write: (_c, _e, done) => done() });

    const refused = await runCacheCommand(['clear', '../etc'], { env: {}, out }).catch((err: Error) => err);

    expect(refused).toMatchObject({ code: 'invalid_request' });
  });
});

describe('the setup kind', () => {
  it('is decided by the commands, the entry and its commit', () => {
    const prepared = { key: 'k', sha: 'a' };
    const both = { setup: ['npm ci'], maintenance: ['npm run build'] };

    expect(setupKindOf({ setup: [], maintenance: [] }, { startSha: 'a', prepared })).toBe('none');
    expect(setupKindOf(both, { startSha: 'a' })).toBe('full');
    expect(setupKindOf(both, { startSha: 'a', prepared })).toBe('prepared');
    expect(setupKindOf(both, { startSha: 'b', prepared })).toBe('maintenance');
    expect(setupKindOf({ setup: ['npm ci'], maintenance: [] }, { startSha: 'b', prepared })).toBe('prepared');
  });
});
