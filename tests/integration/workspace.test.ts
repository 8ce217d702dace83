import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitToBare, git } from '../../src/demo/git-fixtures.js';
import { removeTaskDir } from '../../src/workspace/task-clone.js';
import { gitRemotePerTest, rejection } from '../fakes/git-remote.js';

const TOKEN = `ghs_${Math.random().toString(36).slice(2)}SECRET`;
const { t, workspaces } = gitRemotePerTest({
  token: TOKEN,
  name: 'acme/web',
  files: { 'README.md': '# web\n', 'src/app.ts': 'export const a = 1;\n', '.gitignore': '*.log\n' },
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const file of await filesUnder(dir)) {
    if ((await readFile(file)).includes(needle)) hits.push(file);
  }
  return hits;
}

async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid ?? 999_999;
}

describe('workspaces against a git HTTP remote with a token', () => {
  it('syncs, clones, commits and pushes, and the remote branch has the content', async () => {
    const ws = workspaces();
    const mirror = await ws.syncMirror(t.repo);
    const clone = await ws.createClone({
      repo: t.repo,
      taskId: 't1',
      branch: 'patchbay/t1-add',
      base: 'main',
    });
    await writeFile(join(clone.dir, 'src/new.ts'), 'export const b = 2;\n');
    await writeFile(join(clone.dir, 'debug.log'), 'ignored\n');

    const result = await clone.commit({ message: 'Add b', allowWorkflows: false });
    const summary = await clone.diff();
    await clone.push();

    expect(await ws.defaultBranch(mirror)).toBe('main');
    expect(clone.branchExisted).toBe(false);
    expect(result?.files).toEqual(['src/new.ts']);
    expect(summary.files).toEqual(['src/new.ts']);
    expect(summary.stat).toContain('1 file changed');
    expect(summary.patch).toContain('+export const b = 2;');
    expect(await t.server.readFile(t.repo, 'patchbay/t1-add', 'src/new.ts')).toBe('export const b = 2;\n');
    expect(await t.server.log(t.repo, 'patchbay/t1-add')).toEqual(['Add b', 'Initial commit']);
  });

  it('keeps the token out of the clone, the mirror, FETCH_HEAD and the remote URL', async () => {
    const ws = workspaces();
    const clone = await ws.createClone({ repo: t.repo, taskId: 't2', branch: 'patchbay/t2-x', base: 'main' });
    await writeFile(join(clone.dir, 'x.txt'), 'x\n');
    await clone.commit({ message: 'x', allowWorkflows: false });
    await clone.push();
    await commitToBare(join(t.remoteRoot, `${t.repo}.git`), {
      branch: 'main',
      message: 'moved',
      files: { 'm.txt': 'm' },
    });
    await ws.syncMirror(t.repo);
    // The pool refills in the background (entries built under temporary names): scanned once done.
    await ws.poolIdle();

    const remoteUrl = await git(['config', 'remote.origin.url'], { cwd: clone.dir });

    expect(remoteUrl.trim()).toBe(`${t.server.url}/${t.repo}.git`);
    expect(await filesUnder(join(t.root, 'mirrors'))).toContainEqual(expect.stringMatching(/FETCH_HEAD$/));
    expect(await filesContaining(t.root, TOKEN)).toEqual([]);
    expect(await filesContaining(t.root, Buffer.from(`x-access-token:${TOKEN}`).toString('base64'))).toEqual(
      [],
    );
  });

  it('continues an existing branch in a follow-up clone', async () => {
    const ws = workspaces();
    const first = await ws.createClone({
      repo: t.repo,
      taskId: 'a',
      branch: 'patchbay/k-follow',
      base: 'main',
    });
    await writeFile(join(first.dir, 'one.txt'), '1\n');
    const pushed = await first.commit({ message: 'one', allowWorkflows: false });
    await first.push();
    await first.dispose();

    const second = await ws.createClone({
      repo: t.repo,
      taskId: 'b',
      branch: 'patchbay/k-follow',
      base: 'main',
    });

    expect(second.branchExisted).toBe(true);
    expect(second.startSha).toBe(pushed?.sha);
    expect(await readFile(join(second.dir, 'one.txt'), 'utf8')).toBe('1\n');
    expect(await second.commit({ message: 'nothing', allowWorkflows: false })).toBeNull();
    expect((await second.diff()).files).toEqual(['one.txt']);
  });

  it('fails with base_not_found and leaves no clone when the base is missing', async () => {
    const ws = workspaces();

    const err = await rejection(
      ws.createClone({ repo: t.repo, taskId: 'c', branch: 'patchbay/c-x', base: 'nope' }),
    );

    expect(err.code).toBe('base_not_found');
    expect(err.permanent).toBe(true);
    expect(await readdir(join(t.root, 'tasks')).catch(() => [])).toEqual([]);
  });

  it('fails with repo_not_found for an unknown repository', async () => {
    const err = await rejection(workspaces().syncMirror('acme/missing'));

    expect(err.code).toBe('repo_not_found');
    expect(err.permanent).toBe(true);
    expect((await readdir(join(t.root, 'mirrors'))).filter((n) => !n.startsWith('.'))).toEqual([]);
  });

  it('fails with a wrong token and leaves nothing behind', async () => {
    const ws = workspaces('wrong-token');

    const err = await rejection(
      ws.createClone({ repo: t.repo, taskId: 'd', branch: 'patchbay/d-x', base: 'main' }),
    );

    expect(err.code).toBe('repo_not_found');
    expect(await readdir(join(t.root, 'mirrors'))).toEqual([]);
    expect(await readdir(join(t.root, 'tasks')).catch(() => [])).toEqual([]);
    expect(await readdir(join(t.root, 'locks'))).toEqual([]);
  });

  it('refuses a workflow change unless allowed, also when the agent committed it itself', async () => {
    const ws = workspaces();
    const clone = await ws.createClone({ repo: t.repo, taskId: 'e', branch: 'patchbay/e-ci', base: 'main' });
    await mkdir(join(clone.dir, '.github/workflows'), { recursive: true });
    await writeFile(join(clone.dir, '.github/workflows/ci.yml'), 'on: push\n');
    const agent = {
      cwd: clone.dir,
      env: {
        GIT_AUTHOR_NAME: 'a',
        GIT_AUTHOR_EMAIL: 'a@a',
        GIT_COMMITTER_NAME: 'a',
        GIT_COMMITTER_EMAIL: 'a@a',
      },
    };
    await git(['add', '-A'], agent);
    await git(['commit', '-qm', 'sneaky'], agent);

    const err = await rejection(clone.commit({ message: 'ci', allowWorkflows: false }));
    const allowed = await clone.commit({ message: 'ci', allowWorkflows: true });
    await clone.push();

    expect(err.code).toBe('workflow_change_refused');
    expect(allowed?.files).toEqual(['.github/workflows/ci.yml']);
    expect(await t.server.log(t.repo, 'patchbay/e-ci')).toEqual(['ci', 'Initial commit']);
  });

  it('pushes only patchbay/ branches', async () => {
    const ws = workspaces();
    const clone = await ws.createClone({ repo: t.repo, taskId: 'g', branch: 'feature/x', base: 'main' });

    const err = await rejection(clone.push());

    expect(err.code).toBe('push_rejected');
    expect(await t.server.branches(t.repo)).toEqual(['main']);
  });

  it('returns null when nothing changed, and dispose always removes the clone', async () => {
    const ws = workspaces();
    const clone = await ws.createClone({
      repo: t.repo,
      taskId: 'h',
      branch: 'patchbay/h-noop',
      base: 'main',
    });
    await writeFile(join(clone.dir, 'only.log'), 'ignored by .gitignore\n');

    const result = await clone.commit({ message: 'noop', allowWorkflows: false });
    const summary = await clone.diff();
    await clone.dispose();
    await clone.dispose();

    expect(result).toBeNull();
    expect(summary.files).toEqual([]);
    expect(await readdir(join(t.root, 'tasks'))).toEqual([]);
    await expect(removeTaskDir(join(t.root, 'tasks'), '/tmp')).rejects.toThrow(/outside/);
  });

  it('deletes a remote branch, and an absent one is fine', async () => {
    const ws = workspaces();
    const clone = await ws.createClone({ repo: t.repo, taskId: 'i', branch: 'patchbay/i-del', base: 'main' });
    await clone.push();

    await ws.deleteRemoteBranch(t.repo, 'patchbay/i-del');
    await ws.deleteRemoteBranch(t.repo, 'patchbay/i-del');

    expect(await t.server.branches(t.repo)).toEqual(['main']);
  });

  it("sweeps a dead process's clone but not a live one's", async () => {
    const ws = workspaces();
    const live = await ws.createClone({
      repo: t.repo,
      taskId: 'live',
      branch: 'patchbay/j-live',
      base: 'main',
    });
    const dead = await ws.createClone({
      repo: t.repo,
      taskId: 'dead',
      branch: 'patchbay/j-dead',
      base: 'main',
    });
    const ownerFile = join(dirname(dead.dir), 'owner.json');
    const owner = JSON.parse(await readFile(ownerFile, 'utf8'));
    await writeFile(ownerFile, JSON.stringify({ ...owner, pid: await deadPid(), start: undefined }));

    const removed = await workspaces().sweepOrphans();

    expect(removed).toBe(1);
    expect(await readdir(join(t.root, 'tasks'))).toEqual([live.dir.split('/').at(-2)]);
  });

  it('lets two concurrent syncs of one t.repo both succeed, one fetch at a time, with gc.auto=0', async () => {
    const [a, b] = [workspaces(), workspaces()];

    const [ma, mb] = await Promise.all([a.syncMirror(t.repo), b.syncMirror(t.repo)]);
    await commitToBare(join(t.remoteRoot, `${t.repo}.git`), {
      branch: 'main',
      message: 'next',
      files: { 'n.txt': 'n' },
    });
    await Promise.all([a.syncMirror(t.repo), b.syncMirror(t.repo), a.syncMirror(t.repo)]);

    expect(ma.dir).toBe(mb.dir);
    expect((await git(['config', 'gc.auto'], { cwd: ma.dir })).trim()).toBe('0');
    expect((await git(['log', '--format=%s', '-1', 'main'], { cwd: ma.dir })).trim()).toBe('next');
    expect(await readdir(join(t.root, 'locks'))).toEqual([]);
    expect((await readdir(join(t.root, 'mirrors'))).length).toBe(1);
  });
});
