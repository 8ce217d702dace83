import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git } from '../../src/demo/git-fixtures.js';
import { gitRemotePerTest } from '../fakes/git-remote.js';

const TOKEN = `ghs_${Math.random().toString(36).slice(2)}KEEP`;
const { t, workspaces } = gitRemotePerTest({
  token: TOKEN,
  name: 'acme/keep',
  files: { 'README.md': '# keep\n', 'src/app.ts': 'export const a = 1;\n', '.gitignore': '*.log\n' },
});

const bare = () => join(t.remoteRoot, `${t.repo}.git`);
const remoteRefs = async () =>
  (await git(['--git-dir', bare(), 'for-each-ref', '--format=%(refname)'])).split('\n').filter(Boolean);

describe('kept work: a task’s work in progress on a ref of Patchbay’s own', () => {
  it('pushes the work tree only when it changed, never to a branch, marked as work in progress', async () => {
    const ws = workspaces();
    await ws.syncMirror(t.repo);
    const clone = await ws.createClone({
      repo: t.repo,
      taskId: 'tk1',
      branch: 'patchbay/tk1-x',
      base: 'main',
    });

    const untouched = await clone.keepWork('tk1');
    await writeFile(join(clone.dir, 'src/new.ts'), 'export const b = 2;\n');
    await writeFile(join(clone.dir, 'debug.log'), 'ignored\n');
    const changed = await clone.keepWork('tk1');
    const again = await clone.keepWork('tk1');
    const status = await git(['status', '--porcelain'], { cwd: clone.dir });

    expect(untouched).toEqual({ base: clone.startSha, sha: null });
    expect(changed.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(again).toEqual(changed);
    expect(await remoteRefs()).toEqual(['refs/heads/main', 'refs/patchbay/work/tk1']);
    const message = await git(['--git-dir', bare(), 'log', '-1', '--format=%B', 'refs/patchbay/work/tk1']);
    expect(message).toMatch(/^\[skip ci\] /);
    expect(message).toContain('Patchbay-Kept-Work: tk1');
    const files = await git(['--git-dir', bare(), 'ls-tree', '-r', '--name-only', 'refs/patchbay/work/tk1']);
    expect(files.split('\n').filter(Boolean)).toEqual([
      '.gitignore',
      'README.md',
      'src/app.ts',
      'src/new.ts',
    ]);
    // The agent's own view is untouched: its change is still unstaged and untracked.
    expect(status).toContain('?? src/new.ts');
  });

  it('restores kept work in another clone after setup, with the agent’s changes unstaged as before', async () => {
    const ws = workspaces();
    await ws.syncMirror(t.repo);
    const first = await ws.createClone({
      repo: t.repo,
      taskId: 'tk2',
      branch: 'patchbay/tk2-x',
      base: 'main',
    });
    await writeFile(join(first.dir, 'src/app.ts'), 'export const a = 42;\n');
    await rm(join(first.dir, 'README.md'));
    await writeFile(join(first.dir, 'NOTES.md'), 'notes\n');
    const kept = await first.keepWork('tk2');
    await first.dispose();
    const other = workspaces();
    const second = await other.createClone({
      repo: t.repo,
      taskId: 'tk2',
      branch: 'patchbay/tk2-x',
      base: 'main',
    });
    await writeFile(join(second.dir, 'setup-output.log'), 'from setup\n');

    const restored = await second.restoreWork('tk2', kept);
    const diff = await git(['diff', '--stat'], { cwd: second.dir });

    expect(restored).toBe('restored');
    expect(await readFile(join(second.dir, 'src/app.ts'), 'utf8')).toBe('export const a = 42;\n');
    expect(await readFile(join(second.dir, 'NOTES.md'), 'utf8')).toBe('notes\n');
    await expect(readFile(join(second.dir, 'README.md'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(second.dir, 'setup-output.log'), 'utf8')).toBe('from setup\n');
    expect(diff).toContain('src/app.ts');
    expect(diff).toContain('README.md');
    const result = await second.commit({ message: 'Result', allowWorkflows: false });
    expect(result?.files.sort()).toEqual(['NOTES.md', 'README.md', 'src/app.ts']);
  });

  it('tells a branch that moved from one holding the task’s own result, and drops the ref', async () => {
    const ws = workspaces();
    await ws.syncMirror(t.repo);
    const first = await ws.createClone({
      repo: t.repo,
      taskId: 'tk3',
      branch: 'patchbay/tk3-x',
      base: 'main',
    });
    await writeFile(join(first.dir, 'x.txt'), 'x\n');
    const kept = await first.keepWork('tk3');
    await first.commit({ message: 'Add x\n\nPatchbay-Task: tk3', allowWorkflows: false });
    await first.push();
    await first.dispose();
    const published = await ws.createClone({
      repo: t.repo,
      taskId: 'tk3',
      branch: 'patchbay/tk3-x',
      base: 'main',
    });
    const someoneElse = await ws.createClone({
      repo: t.repo,
      taskId: 'tk4',
      branch: 'patchbay/tk3-x',
      base: 'main',
    });

    const mine = await published.restoreWork('tk3', kept);
    const theirs = await someoneElse.restoreWork('tk4', { ...kept, sha: null });
    await ws.dropKeptWork(t.repo, 'tk3');
    await ws.dropKeptWork(t.repo, 'tk3');

    expect(mine).toBe('published');
    expect(theirs).toBe('moved');
    expect(await remoteRefs()).toEqual(['refs/heads/main', 'refs/heads/patchbay/tk3-x']);
  });
});
