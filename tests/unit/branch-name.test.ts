import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { toBranchName } from '../../src/workspace/branch-name.js';

function isValidRef(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['check-ref-format', '--branch', name],
      { env: { PATH: process.env.PATH, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } },
      (err) => resolve(!err),
    );
  });
}

describe('toBranchName', () => {
  it('uses the Linear identifier and a slug of the instruction', () => {
    const name = toBranchName({
      key: 'ENG-123',
      conversation: 'linear:abc',
      instruction: 'Fix the login page!',
    });

    expect(name).toBe('patchbay/ENG-123-fix-the-login-page');
  });

  it('uses a stable short hash of the conversation without a key', () => {
    const a = toBranchName({ conversation: 'slack:C1:1700.1', instruction: 'Add tests' });
    const b = toBranchName({ conversation: 'slack:C1:1700.1', instruction: 'Add tests' });

    expect(a).toBe(b);
    expect(a).toMatch(/^patchbay\/[0-9a-f]{8}-add-tests$/);
  });

  it('folds accents and drops other scripts and emoji', () => {
    const name = toBranchName({
      key: 'ENG-9',
      conversation: 'c',
      instruction: 'Réparer le café ☕ 日本語 ok',
    });

    expect(name).toBe('patchbay/ENG-9-reparer-le-cafe-ok');
  });

  it('cuts a very long instruction to 40 characters on a word boundary', () => {
    const name = toBranchName({ key: 'ENG-1', conversation: 'c', instruction: 'refactor '.repeat(100) });
    const slug = name.slice('patchbay/ENG-1-'.length);

    expect(slug.length).toBeLessThanOrEqual(40);
    expect(slug).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it('falls back to "task" when the instruction has only symbols', () => {
    const name = toBranchName({
      key: 'ENG-2',
      conversation: 'c',
      instruction: '!!! ... @{} ~^:?*[ \\ ..lock',
    });

    expect(name).toBe('patchbay/ENG-2-lock');
    expect(toBranchName({ key: 'ENG-2', conversation: 'c', instruction: '?!… 🎉' })).toBe(
      'patchbay/ENG-2-task',
    );
  });

  it('cleans a key that is not a ref-safe identifier', () => {
    const name = toBranchName({ key: ' ../x.lock@{ ', conversation: 'c', instruction: 'go' });

    expect(name).toBe('patchbay/x-lock-go');
    expect(toBranchName({ key: '///', conversation: 'c', instruction: 'go' })).toMatch(
      /^patchbay\/[0-9a-f]{8}-go$/,
    );
  });

  it('always produces a name git check-ref-format accepts', async () => {
    const inputs = [
      'Fix bug',
      'a..b',
      'name.lock',
      'ctrl\u0001chars\u007f',
      'trailing dot.',
      '-leading dash',
      'x'.repeat(500),
      'ÅÄÖ ünïcödé ñ',
      '中文 only',
      '@',
      '',
    ];
    const names = inputs.flatMap((instruction) => [
      toBranchName({ conversation: instruction, instruction }),
      toBranchName({ key: `ENG-${instruction}`, conversation: 'c', instruction }),
    ]);

    const results = await Promise.all(names.map(isValidRef));

    expect(results.every(Boolean)).toBe(true);
    for (const name of names) expect(name.startsWith('patchbay/')).toBe(true);
  });
});
