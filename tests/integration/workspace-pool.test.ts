import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { commitToBare, git, tempDir } from '../../src/demo/git-fixtures.js';
import { type GitHttpServer, startGitHttpServer } from '../../src/demo/git-http-server.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createWorkspaces, type Workspaces } from '../../src/workspace/create-workspaces.js';
import type { TaskWorkspace } from '../../src/workspace/types.js';
import { tokenCredentials } from '../../src/workspace/types.js';

const TOKEN = `ghs_${Math.random().toString(36).slice(2)}POOLSECRET`;
let server: GitHttpServer;
let remoteRoot: string;
let root: string;
let repo: string;
let counter = 0;
let made: Workspaces[] = [];

function workspaces(size?: number, bot?: { name: string; email: string }): Workspaces {
  const ws = createWorkspaces({
    root,
    remoteUrl: (r) => `${server.url}/${r}.git`,
    credentials: tokenCredentials(TOKEN),
    log: createSilentLogger(),
    ...(size === undefined ? {} : { pool: { size } }),
    ...(bot ? { bot } : {}),
  });
  made.push(ws);
  return ws;
}

const task = (id: string, base = 'main') => ({ repo, taskId: id, branch: `patchbay/${id}`, base });

/** The pool directory of the test's repository (named like its mirror). */
async function poolDir(): Promise<string> {
  const [name] = await readdir(join(root, 'mirrors'));
  return join(root, 'pool', name ?? 'none');
}

const poolEntries = async () => readdir(await poolDir()).catch(() => [] as string[]);
const inClone = (ws: TaskWorkspace, args: string[]) => git(args, { cwd: ws.dir }).then((out) => out.trim());

async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const hits: string[] = [];
  for (const e of entries.filter((x) => x.isFile())) {
    const file = join(e.parentPath, e.name);
    if ((await readFile(file)).includes(needle)) hits.push(file);
  }
  return hits;
}

async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid ?? 999_999;
}

/** Checks that a clone is a clean checkout of `sha` on its task branch, with the real remote URL. */
async function expectTaskClone(ws: TaskWorkspace, sha: string): Promise<void> {
  expect(await inClone(ws, ['symbolic-ref', '--short', 'HEAD'])).toBe(ws.branch);
  expect(await inClone(ws, ['rev-parse', 'HEAD'])).toBe(sha);
  expect(await inClone(ws, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  expect(await inClone(ws, ['config', 'remote.origin.url'])).toBe(`${server.url}/${repo}.git`);
}

beforeAll(async () => {
  remoteRoot = await tempDir('patchbay-pool-remote-');
  server = await startGitHttpServer({ root: remoteRoot, token: TOKEN });
});

afterAll(async () => {
  await server.close();
  await rm(remoteRoot, { recursive: true, force: true });
});

beforeEach(async () => {
  root = await tempDir('patchbay-pool-');
  counter += 1;
  repo = `acme/pool${counter}`;
  await server.createRepo(repo, { 'README.md': '# pool\n', 'src/app.ts': 'export const a = 1;\n' });
});

afterEach(async () => {
  await Promise.all(made.map((ws) => ws.poolIdle()));
  made = [];
  await rm(root, { recursive: true, force: true });
});

describe('warm clone pool', () => {
  it('warms the pool after syncMirror and serves the next clone from it', async () => {
    const ws = workspaces();
    const mirror = await ws.syncMirror(repo);
    await ws.poolIdle();
    const warmed = await poolEntries();
    const tip = await git(['rev-parse', 'main'], { cwd: mirror.dir });
    const fresh = await workspaces(0).createClone(task('a0'));

    const clone = await ws.createClone(task('a1'));

    expect(warmed).toHaveLength(1);
    expect(ws.stats()).toMatchObject({ poolHits: 1, poolMisses: 0 });
    expect(clone.dir).toBe(join(root, 'tasks', clone.dir.split('/').at(-2) ?? '', 'repo'));
    await expectTaskClone(clone, tip.trim());
    expect(await readFile(join(clone.dir, 'src/app.ts'), 'utf8')).toBe('export const a = 1;\n');
    const config = await readFile(join(clone.dir, '..', 'config'), 'utf8');
    expect(config).toContain('hookspath = /dev/null');
    expect(config.replace('a1', 'a0')).toBe(await readFile(join(fresh.dir, '.git', 'config'), 'utf8'));
  });

  it("serves a second task's clone from the pool the first task's clone refilled", async () => {
    const ws = workspaces();
    const first = await ws.createClone(task('b1'));
    await ws.poolIdle();

    const second = await ws.createClone(task('b2'));

    expect(ws.stats()).toMatchObject({ poolHits: 1, poolMisses: 1 });
    await expectTaskClone(second, first.startSha);
    expect(second.dir).not.toBe(first.dir);
  });

  it('refills the pool after a claim, in the background', async () => {
    const ws = workspaces();
    await ws.syncMirror(repo);
    await ws.poolIdle();
    const before = await poolEntries();

    await ws.createClone(task('c1'));
    await ws.poolIdle();
    const after = await poolEntries();

    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
    expect(ws.stats()).toMatchObject({ poolHits: 1, poolEntriesBuilt: 2, poolRefillErrors: 0 });
  });

  it('never hands one entry to two of many concurrent createClone calls', async () => {
    const [a, b] = [workspaces(2), workspaces(2)];
    const mirror = await a.syncMirror(repo);
    await a.poolIdle();
    const tip = (await git(['rev-parse', 'main'], { cwd: mirror.dir })).trim();
    const ids = Array.from({ length: 8 }, (_, i) => `d${i}`);

    const clones = await Promise.all(ids.map((id, i) => (i % 2 ? a : b).createClone(task(id))));

    const [sa, sb] = [a.stats(), b.stats()];
    expect(new Set(clones.map((c) => c.dir)).size).toBe(8);
    expect(sa.poolHits + sb.poolHits).toBeGreaterThanOrEqual(2);
    expect(sa.poolHits + sa.poolMisses + sb.poolHits + sb.poolMisses).toBe(8);
    for (const clone of clones) {
      await expectTaskClone(clone, tip);
      await writeFile(join(clone.dir, 'mine.txt'), clone.branch);
    }
    for (const clone of clones) {
      expect(await readFile(join(clone.dir, 'mine.txt'), 'utf8')).toBe(clone.branch);
    }
  });

  it('checks out the new base when it moved after the pool was filled', async () => {
    const ws = workspaces();
    await ws.syncMirror(repo);
    await ws.poolIdle();
    const moved = await commitToBare(join(remoteRoot, `${repo}.git`), {
      branch: 'main',
      message: 'moved',
      files: { 'src/app.ts': 'export const a = 2;\n', 'README.md': null, 'docs/new.md': 'new\n' },
    });
    await ws.syncMirror(repo);
    await ws.poolIdle();

    const clone = await ws.createClone(task('e1'));
    await writeFile(join(clone.dir, 'src/b.ts'), 'export const b = 1;\n');
    await clone.commit({ message: 'b', allowWorkflows: false });
    const summary = await clone.diff();

    expect(ws.stats().poolHits).toBe(1);
    expect(clone.startSha).toBe(moved);
    expect(await readFile(join(clone.dir, 'src/app.ts'), 'utf8')).toBe('export const a = 2;\n');
    expect(await readFile(join(clone.dir, 'docs/new.md'), 'utf8')).toBe('new\n');
    expect(await readdir(clone.dir)).not.toContain('README.md');
    expect(await inClone(clone, ['rev-parse', 'refs/remotes/origin/main'])).toBe(moved);
    expect(summary.files).toEqual(['src/b.ts']);
  });

  it('continues an existing branch from a pool entry made at the base', async () => {
    const ws = workspaces();
    const first = await ws.createClone(task('f1'));
    await writeFile(join(first.dir, 'one.txt'), '1\n');
    const pushed = await first.commit({ message: 'one', allowWorkflows: false });
    await first.push();
    await first.dispose();
    await ws.poolIdle();

    const second = await ws.createClone(task('f1'));

    expect(ws.stats().poolHits).toBe(1);
    expect(second.branchExisted).toBe(true);
    await expectTaskClone(second, pushed?.sha ?? '');
    expect(await readFile(join(second.dir, 'one.txt'), 'utf8')).toBe('1\n');
  });

  it('rewrites the identity of an entry made by a process with other settings', async () => {
    const before = workspaces(1, { name: 'old-bot', email: 'old@example.com' });
    await before.syncMirror(repo);
    await before.poolIdle();
    const ws = workspaces(1, { name: 'new-bot', email: 'new@example.com' });

    const clone = await ws.createClone(task('l1'));

    expect(ws.stats().poolHits).toBe(1);
    expect(await inClone(clone, ['config', 'user.name'])).toBe('new-bot');
    expect(await inClone(clone, ['config', 'user.email'])).toBe('new@example.com');
    expect(await readFile(join(clone.dir, '..', 'config'), 'utf8')).toContain('name = new-bot');
  });

  it('keeps the token out of pool entries and the clones made from them', async () => {
    const ws = workspaces();
    await ws.syncMirror(repo);
    await ws.poolIdle();
    const clone = await ws.createClone(task('g1'));
    await clone.push();
    await ws.poolIdle();
    const [entry] = await poolEntries();

    const entryUrl = await git(['config', 'remote.origin.url'], { cwd: join(await poolDir(), entry ?? '') });

    expect(entryUrl).not.toContain(TOKEN);
    expect(await filesContaining(root, TOKEN)).toEqual([]);
    expect(await filesContaining(root, Buffer.from(`x-access-token:${TOKEN}`).toString('base64'))).toEqual(
      [],
    );
  });

  it('never claims a half-made entry, and sweeps it when its process is dead', async () => {
    const ws = workspaces(0);
    await ws.syncMirror(repo);
    const dead = join(await poolDir(), `.tmp-${await deadPid()}-0000`);
    const live = join(await poolDir(), `.tmp-${process.pid}-0000`);
    for (const half of [dead, live]) {
      await mkdir(join(half, '.git'), { recursive: true });
      await writeFile(join(half, 'half.txt'), 'half\n');
    }
    const pooled = workspaces(1);

    const clone = await pooled.createClone(task('h1'));
    await pooled.poolIdle();
    const removed = await pooled.sweepOrphans();

    expect(pooled.stats()).toMatchObject({ poolHits: 0, poolMisses: 1 });
    expect(await readdir(clone.dir)).not.toContain('half.txt');
    expect(removed).toBe(1);
    const left = await poolEntries();
    expect(left).toContain(live.split('/').at(-1));
    expect(left).not.toContain(dead.split('/').at(-1));
    expect(left.filter((n) => !n.startsWith('.'))).toHaveLength(1);
  });

  it('falls back to a fresh clone when a pool entry is unusable', async () => {
    const ws = workspaces();
    const mirror = await ws.syncMirror(repo);
    await ws.poolIdle();
    const [entry] = await poolEntries();
    const alternates = join(await poolDir(), entry ?? '', '.git/objects/info/alternates');
    await writeFile(alternates, '/nonexistent/objects\n');

    const clone = await ws.createClone(task('i1'));

    expect(ws.stats()).toMatchObject({ poolHits: 0, poolMisses: 1 });
    await expectTaskClone(clone, (await git(['rev-parse', 'main'], { cwd: mirror.dir })).trim());
  });

  it('disposes a clone taken from the pool and keeps the refilled entry', async () => {
    const ws = workspaces();
    await ws.syncMirror(repo);
    await ws.poolIdle();
    const clone = await ws.createClone(task('j1'));

    await clone.dispose();
    await clone.dispose();
    await ws.poolIdle();

    expect(ws.stats().poolHits).toBe(1);
    expect(await readdir(join(root, 'tasks'))).toEqual([]);
    expect(await poolEntries()).toHaveLength(1);
  });

  it('makes no pool with size 0', async () => {
    const ws = workspaces(0);
    await ws.syncMirror(repo);

    await ws.createClone(task('k1'));
    await ws.createClone(task('k2'));
    await ws.poolIdle();

    expect(ws.stats()).toMatchObject({
      poolHits: 0,
      poolMisses: 2,
      poolEntriesBuilt: 0,
      poolRefillErrors: 0,
    });
    expect(await readdir(root)).not.toContain('pool');
  });

  it('sweeps the pool of a repository whose mirror is gone', async () => {
    const ws = workspaces();
    const mirror = await ws.syncMirror(repo);
    await ws.poolIdle();
    const pool = await poolDir();
    await rm(mirror.dir, { recursive: true, force: true });

    const removed = await ws.sweepOrphans();

    expect(removed).toBe(1);
    expect(await readdir(join(root, 'pool'))).not.toContain(pool.split('/').at(-1));
  });
});
