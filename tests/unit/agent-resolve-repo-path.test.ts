import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveRepoPath } from '../../src/agent/resolve-repo-path.js';

let base: string;
let repo: string;
let outside: string;

beforeEach(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), 'patchbay-paths-')));
  repo = path.join(base, 'repo');
  outside = path.join(base, 'outside');
  await mkdir(path.join(repo, 'src'), { recursive: true });
  await mkdir(path.join(repo, '.git'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(repo, 'src', 'a.ts'), 'a');
  await writeFile(path.join(outside, 'secret.txt'), 'secret');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('resolveRepoPath', () => {
  it('resolves existing and new paths inside the repository', async () => {
    expect(await resolveRepoPath(repo, 'src/a.ts')).toEqual({
      ok: true,
      abs: path.join(repo, 'src/a.ts'),
      rel: 'src/a.ts',
    });
    expect(await resolveRepoPath(repo, './src/new/dir/b.ts')).toMatchObject({
      ok: true,
      rel: 'src/new/dir/b.ts',
    });
    expect(await resolveRepoPath(repo, 'src/../README.md')).toMatchObject({ ok: true, rel: 'README.md' });
  });

  it.each([
    ['/etc/passwd', /absolute/],
    ['~/.ssh/id_rsa', /absolute/],
    ['', /empty/],
    ['../outside/secret.txt', /outside the repository/],
    ['src/../../outside/secret.txt', /outside the repository/],
    ['..', /outside the repository/],
    ['.git/config', /inside \.git/],
    ['src/../.git/hooks/pre-commit', /inside \.git/],
    ['.GIT/config', /inside \.git/],
    ['vendor/.git/config', /inside \.git/],
  ])('refuses %s', async (input, error) => {
    const res = await resolveRepoPath(repo, input);

    expect(res.ok).toBe(false);
    expect(res.ok ? '' : res.error).toMatch(error);
  });

  it('refuses a symlinked file pointing outside', async () => {
    await symlink(path.join(outside, 'secret.txt'), path.join(repo, 'leak.txt'));

    const res = await resolveRepoPath(repo, 'leak.txt');

    expect(res).toMatchObject({ ok: false, error: expect.stringMatching(/symlink to outside/) });
  });

  it('refuses a new file under a symlinked directory pointing outside', async () => {
    await symlink(outside, path.join(repo, 'out'));

    const res = await resolveRepoPath(repo, 'out/deeper/new.txt');

    expect(res).toMatchObject({ ok: false, error: expect.stringMatching(/symlink to outside/) });
  });

  it('refuses a symlink into .git and a dangling symlink', async () => {
    await symlink('.git', path.join(repo, 'gitdir'));
    await symlink(path.join(outside, 'missing.txt'), path.join(repo, 'dangling'));

    expect(await resolveRepoPath(repo, 'gitdir/config')).toMatchObject({ ok: false });
    expect(await resolveRepoPath(repo, 'dangling')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/does not exist/),
    });
  });

  it('follows a symlink that stays inside the repository', async () => {
    await symlink('src', path.join(repo, 'source'));

    expect(await resolveRepoPath(repo, 'source/a.ts')).toMatchObject({ ok: true, rel: 'src/a.ts' });
  });
});
