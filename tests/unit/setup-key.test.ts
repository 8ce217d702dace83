import { describe, expect, it } from 'vitest';
import { FileConfig, type RepositoryConfig } from '../../src/config/file-schema.js';
import { readSetupEnv } from '../../src/config/setup-env-for.js';
import { recipeOf } from '../../src/tasks/environment.js';
import { parsePoolEntryName } from '../../src/workspace/pool-entry-name.js';
import {
  DEFAULT_SETUP_INPUTS,
  globToRegExp,
  matchesAnyGlob,
  setupKeyOf,
} from '../../src/workspace/setup-key.js';

const defaults = DEFAULT_SETUP_INPUTS.map(globToRegExp);
function repo(extra: Record<string, unknown> = {}): RepositoryConfig {
  const [entry] = FileConfig.parse({ repositories: [{ name: 'acme/web', ...extra }] }).repositories;
  if (!entry) throw new Error('no repository');
  return entry;
}

describe('setup input globs', () => {
  it('match lockfiles and manifests at any depth by default, and nothing else', () => {
    const inputs = ['package-lock.json', 'apps/web/package-lock.json', 'requirements-dev.txt', 'svc/go.sum'];
    const others = ['src/index.ts', 'package-lock.json.bak', 'docs/requirements.md', 'README.md'];

    expect(inputs.filter((p) => matchesAnyGlob(p, defaults))).toEqual(inputs);
    expect(others.filter((p) => matchesAnyGlob(p, defaults))).toEqual([]);
  });

  it('read `*` within one name, `**/` across directories and `?` as one character', () => {
    expect(globToRegExp('tools/*.lock').test('tools/a.lock')).toBe(true);
    expect(globToRegExp('tools/*.lock').test('tools/x/a.lock')).toBe(false);
    expect(globToRegExp('**/deps.txt').test('deps.txt')).toBe(true);
    expect(globToRegExp('**/deps.txt').test('a/b/deps.txt')).toBe(true);
    expect(globToRegExp('v?.json').test('v1.json')).toBe(true);
    expect(globToRegExp('v?.json').test('v10.json')).toBe(false);
    expect(globToRegExp('a+b(c).json').test('a+b(c).json')).toBe(true);
  });
});

describe('the setup key', () => {
  it('changes with an input file, the commands or the tools, and only with them', () => {
    const inputs = ['100644 blob aaa\tpackage-lock.json'];
    const fingerprint = recipeOf(repo({ setup: ['npm ci'] }), 'tools-1')?.fingerprint ?? '';

    const same = setupKeyOf(inputs, fingerprint);
    const lockfile = setupKeyOf(['100644 blob bbb\tpackage-lock.json'], fingerprint);
    const command = setupKeyOf(
      inputs,
      recipeOf(repo({ setup: ['npm install'] }), 'tools-1')?.fingerprint ?? '',
    );
    const tools = setupKeyOf(inputs, recipeOf(repo({ setup: ['npm ci'] }), 'tools-2')?.fingerprint ?? '');

    expect(setupKeyOf([...inputs], fingerprint)).toBe(same);
    expect(same).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set([same, lockfile, command, tools]).size).toBe(4);
  });

  it('is not needed for a repository without setup or maintenance, and follows its own setup_inputs', () => {
    expect(recipeOf(repo(), 't')).toBeUndefined();
    expect(recipeOf(repo({ maintenance: ['make'] }), 't')?.inputs).toEqual(DEFAULT_SETUP_INPUTS);
    expect(recipeOf(repo({ setup: ['make'], setup_inputs: ['deps/*.lock'] }), 't')?.inputs).toEqual([
      'deps/*.lock',
    ]);
  });

  it('is carried in a pool entry name, and a name of another format is not an entry of any key', () => {
    const sha = 'a'.repeat(40);

    expect(parsePoolEntryName(`000001700000000-0123abcd-0123456789abcdef-${sha}-abc123`)).toMatchObject({
      tag: '0123abcd',
      key: '0123456789abcdef',
      sha,
    });
    expect(parsePoolEntryName(`000001700000000-0123abcd-plain-${sha}-abc123`)?.key).toBe('plain');
    expect(parsePoolEntryName('000001700000000-0123abcd-abc123')).toBeUndefined();
  });
});

describe('setup_env', () => {
  it('reads the named variables of the host per repository, leaving out the unset ones', () => {
    const file = FileConfig.parse({
      repositories: [{ name: 'acme/web', setup_env: ['NPM_TOKEN', 'MISSING'] }, { name: 'acme/api' }],
    });

    const env = readSetupEnv(file, { NPM_TOKEN: 'npm_abc', OPENAI_API_KEY: 'sk-x' });

    expect(env.get('acme/web')).toEqual({ NPM_TOKEN: 'npm_abc' });
    expect(env.get('acme/api')).toEqual({});
  });

  it('refuses a name that is not an environment variable name', () => {
    expect(() =>
      FileConfig.parse({ repositories: [{ name: 'acme/web', setup_env: ['NPM TOKEN'] }] }),
    ).toThrow(/environment variable name/);
  });
});
